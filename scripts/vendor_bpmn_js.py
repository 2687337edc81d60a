#!/usr/bin/env python3
"""Refresh the bpmn-js files the app serves (web/static/vendor/bpmn-js/) from node_modules after
`npm ci` or an upgrade of bpmn-js in package.json, so a wheel carries the same version the lock
file names. Run from the repository root: `python scripts/vendor_bpmn_js.py`, then commit."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "node_modules" / "bpmn-js"
TARGET = ROOT / "web" / "static" / "vendor" / "bpmn-js"
FILES = ("dist/bpmn-navigated-viewer.production.min.js", "dist/bpmn-modeler.production.min.js", "LICENSE")


def main() -> int:
    if not (SOURCE / "dist").is_dir():
        print(f"{SOURCE} is missing: run `npm ci` first", file=sys.stderr)
        return 1
    version = json.loads((SOURCE / "package.json").read_text())["version"]
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(SOURCE / name, TARGET / Path(name).name)
    shutil.copytree(SOURCE / "dist" / "assets", TARGET / "assets")
    (TARGET / "VERSION").write_text(version + "\n")
    print(f"bpmn-js {version} copied to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

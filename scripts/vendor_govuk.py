"""Copy GOV.UK Frontend's compiled CSS and JS from node_modules into web/static/vendor/govuk/.

The copy is committed so a plain `pip install` serves the pages without npm. The GOV.UK brand is
reserved to GOV.UK itself, so the copy drops the GDS Transport font faces (a system font stack is
used instead) and the crown/crest image references. Run after upgrading the npm package:

    npm ci && python scripts/vendor_govuk.py
"""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
TARGET = ROOT / "web" / "static" / "vendor" / "govuk"
SYSTEM_FONTS = 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'


def brandless_css(css: str) -> str:
    css = re.sub(r"@font-face\{[^}]*\}", "", css)
    css = css.replace("font-family:GDS Transport,arial,sans-serif", f"font-family:{SYSTEM_FONTS}")
    css = re.sub(r"url\(/assets/images/[^)]*\)", "none", css)
    return re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    version = json.loads((SOURCE.parent.parent / "package.json").read_text())["version"]
    css = brandless_css((SOURCE / "govuk-frontend.min.css").read_text())
    (TARGET / "govuk-frontend.min.css").write_text(css)
    js = (SOURCE / "govuk-frontend.min.js").read_text()
    js = re.sub(r"//# sourceMappingURL=\S*", "", js)
    (TARGET / "govuk-frontend.min.js").write_text(js)
    (TARGET / "VERSION").write_text(f"govuk-frontend {version} (MIT); copied by scripts/vendor_govuk.py\n")
    print(f"govuk-frontend {version} copied to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Copy a few browser-test screenshots into docs/screenshots/ for the README, made small (64-colour
PNG; needs Pillow). Run the browser tests first (`make test`, or tests/browser/), then:

    python scripts/docs_screenshots.py
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCE, TARGET = ROOT / "artifacts" / "screenshots", ROOT / "docs" / "screenshots"
PICKS = {  # screenshot → docs name, crop height (None: whole), scale
    "guide-requester-start": ("requester-start", None, 1),
    "23-requester-start-errors": ("requester-start-errors", 1100, 2 / 3),
    "guide-oic-held-by-colleague": ("oic-held-by-colleague", None, 1),
    "guide-ccd-inbox": ("ccd-inbox", None, 1),
    "guide-flo-verify": ("flo-verify", None, 1),
    "guide-head-of-comms-escalation": ("head-of-comms-escalation", None, 1),
    "guide-manager-dashboard": ("manager-dashboard", None, 1),
    "a11y-inbox-phone": ("inbox-phone", None, 1),
}


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, (out, height, scale) in PICKS.items():
        image = Image.open(SOURCE / f"{name}.png").convert("RGB")
        if height:
            image = image.crop((0, 0, image.width, min(image.height, height)))
        if scale != 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)))
        path = TARGET / f"{out}.png"
        image.quantize(colors=64).save(path, optimize=True)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()

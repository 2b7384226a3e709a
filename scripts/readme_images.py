"""Make README's images: a grid of example results and screenshots of the running app.

    python scripts/readme_images.py grid         # docs/examples-grid.jpg (nst, the quick preset)
    python scripts/readme_images.py screenshot   # docs/app-desktop.jpg, docs/app-phone.jpg

The screenshots are taken by the real-browser test (tests/test_browser.py), told to keep painting
for a while before it presses Stop, so the page shows a picture well under way.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CELL = 200  # px per grid cell
STYLES = ["starry_night", "the_scream", "mosaic"]  # two famous paintings, one of ours
PHOTOS = ["astronaut", "chelsea", "rocket"]
CACHE = Path(tempfile.gettempdir()) / "nst-readme-grid"  # finished cells, so a rerun resumes


def _fit(img: Image.Image, side: int = CELL) -> Image.Image:
    """Centre-crop to a square and resize, so the grid is even."""
    s = min(img.size)
    left, top = (img.width - s) // 2, (img.height - s) // 2
    return img.crop((left, top, left + s, top + s)).resize((side, side), Image.LANCZOS)


def grid(out: Path = DOCS / "examples-grid.jpg"):
    sys.path.insert(0, str(ROOT))
    from nst import preset, run

    settings = preset("quick")  # the 15 s budget: the size and steps are this machine's
    pad = 6
    sheet = Image.new("RGB", ((len(STYLES) + 1) * (CELL + pad) + pad, (len(PHOTOS) + 1) * (CELL + pad) + pad),
                      "white")
    ex = ROOT / "examples"
    for j, name in enumerate(STYLES):
        sheet.paste(_fit(Image.open(ex / "styles" / f"{name}.jpg")), (pad + (j + 1) * (CELL + pad), pad))
    for i, photo_name in enumerate(PHOTOS):
        photo = Image.open(ex / "photos" / f"{photo_name}.jpg").convert("RGB")
        y = pad + (i + 1) * (CELL + pad)
        sheet.paste(_fit(photo), (pad, y))
        for j, name in enumerate(STYLES):
            cell = CACHE / f"{photo_name}-{name}-{settings.seconds:g}s.png"
            if not cell.exists():
                CACHE.mkdir(exist_ok=True)
                result = run(photo, Image.open(ex / "styles" / f"{name}.jpg").convert("RGB"), settings)
                result.image.save(cell)
                print(f"{photo_name} x {name}: {result.step} steps in {result.elapsed:.1f} s", flush=True)
            sheet.paste(_fit(Image.open(cell)), (pad + (j + 1) * (CELL + pad), y))
    ImageDraw.Draw(sheet).text((pad + 8, pad + 8), f"quick preset:\n{settings.seconds:g} s each",
                               fill="black")
    DOCS.mkdir(exist_ok=True)
    sheet.save(out, quality=82, optimize=True)
    print(out, f"{out.stat().st_size // 1024} KB")


def screenshot(frames: int = 14):  # picture changes before Stop: about two thirds of a quick run
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NST_SCREENSHOTS": tmp, "NST_SHOT_FRAMES": str(frames)}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/test_browser.py", "-k", "paint_watch"],
                       cwd=ROOT, env=env, check=True)
        DOCS.mkdir(exist_ok=True)
        for shot in sorted(Path(tmp).glob("*.png")):
            out = DOCS / f"{shot.stem}.jpg"
            Image.open(shot).convert("RGB").save(out, quality=80, optimize=True)
            print(out, f"{out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    {"grid": grid, "screenshot": screenshot}[sys.argv[1] if len(sys.argv) > 1 else "grid"]()

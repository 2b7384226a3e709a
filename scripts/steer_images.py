"""Make README's images for spatial control and the time-lapse (issue: steer, mask, share).

    python scripts/steer_images.py timelapse            # docs/timelapse.webp (quick preset)
    python scripts/steer_images.py timelapse balanced   # a balanced run's time-lapse, size printed
    python scripts/steer_images.py mask                 # docs/masked.jpg: photo | mask | 2 results | change

The mask is drawn by this script (an ellipse head and shoulders around the astronaut, softened),
so the example rebuilds without any hand-made file.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from nst import preset, run, stylize  # noqa: E402
from nst.timelapse import TimeLapse  # noqa: E402

DOCS, EX = ROOT / "docs", ROOT / "examples"
PHOTO, STYLE, STYLE_2 = "astronaut", "starry_night", "woman-with-hat-matisse"


def _open(kind: str, name: str) -> Image.Image:
    return Image.open(EX / kind / f"{name}.jpg").convert("RGB")


def timelapse(which: str = "quick"):
    settings = preset(which, frame_every=2)
    out = DOCS / "timelapse.webp" if which == "quick" else Path(tempfile.gettempdir()) / f"timelapse-{which}.webp"
    lapse = TimeLapse(long_side=256 if which == "quick" else 384)
    t0 = time.perf_counter()
    for frame in stylize(_open("photos", PHOTO), _open("styles", STYLE), settings):
        if frame.info.stage == "painting":  # not the moment a level is enlarged
            lapse.add(frame.image, frame.step)
    lapse.write(out)
    n = Image.open(out).n_frames
    print(f"{out}: {which} preset ({frame.info.size} px, {frame.step} steps, "
          f"{time.perf_counter() - t0:.0f} s), {n} frames, {out.stat().st_size / 1024:.0f} KB")


def person_mask(size: tuple[int, int]) -> Image.Image:
    """White on the background, black on the astronaut (head and shoulders), soft edge."""
    w, h = size
    m = Image.new("L", size, 255)
    d = ImageDraw.Draw(m)
    d.ellipse((0.30 * w, 0.02 * h, 0.58 * w, 0.33 * h), fill=0)  # hair and face
    d.ellipse((0.20 * w, 0.26 * h, 0.62 * w, 0.62 * h), fill=0)  # helmet ring
    d.ellipse((0.00 * w, 0.40 * h, 0.80 * w, 1.40 * h), fill=0)  # suit
    d.ellipse((0.52 * w, 0.60 * h, 1.05 * w, 1.15 * h), fill=0)  # the helmet she holds
    return m.filter(ImageFilter.GaussianBlur(w / 100))


def _change(picture: Image.Image, photo: Image.Image, gain: float = 4.0) -> Image.Image:
    """How far `picture` moved from the photo, |picture - photo| x gain as grey: black = the photo."""
    a = np.asarray(picture, np.float32)
    b = np.asarray(photo.resize(picture.size, Image.LANCZOS), np.float32)
    return Image.fromarray(np.clip(np.abs(a - b).mean(2) * gain, 0, 255).astype(np.uint8)).convert("RGB")


def mask(cell: int = 256):
    photo = _open("photos", PHOTO)
    m = person_mask(photo.size)
    s = preset("quick")
    inside = run(photo, _open("styles", STYLE), s, mask=m)
    split = run(photo, [_open("styles", STYLE), _open("styles", STYLE_2)], s.replace(mask_mode="split"), mask=m)
    pad = 6
    tiles = [photo, m.convert("RGB"), inside.image, split.image, _change(inside.image, photo)]
    sheet = Image.new("RGB", (len(tiles) * (cell + pad) + pad, cell + 2 * pad), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile.resize((cell, cell), Image.LANCZOS), (pad + i * (cell + pad), pad))
    out = DOCS / "masked.jpg"
    sheet.save(out, quality=82, optimize=True)
    print(f"{out}: {out.stat().st_size // 1024} KB (runs {inside.elapsed:.0f} s and {split.elapsed:.0f} s)")


if __name__ == "__main__":
    {"timelapse": timelapse, "mask": mask}[sys.argv[1]](*sys.argv[2:])

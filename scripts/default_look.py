"""The default-look grid: where should a run start? Example photos x the four public-domain
paintings, each painted from white noise (the paper), from the photo, and from the photo with noise
mixed in, with the same settings and steps (so at equal time: the start costs nothing).

    python scripts/default_look.py            # docs/default-look.jpg (cells cached; reruns resume)

Kept affordable for a shared 2-core CPU: one photo, 256 px, 80 steps, the default recipe.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nst import Settings, run  # noqa: E402
from nst.intake import open_image  # noqa: E402

PHOTOS = ["chelsea"]
PAINTINGS = ["starry_night", "the_scream", "shipwreck", "woman-with-hat-matisse"]
STARTS = ["noise", "content", "content+noise"]
SETTINGS = Settings(size=256, steps=80, seed=0)
NOISE_MIX = 0.5  # content+noise: this much uniform noise blended into the photo
CELL, PAD = 180, 5
CACHE = Path(tempfile.gettempdir()) / "nst-default-look"


def noisy_photo(photo: Image.Image, seed: int = 0) -> Image.Image:
    """The photo with NOISE_MIX of uniform white noise blended in."""
    a = np.asarray(photo, dtype=np.float32)
    noise = np.random.default_rng(seed).uniform(0, 255, a.shape)
    return Image.fromarray(((1 - NOISE_MIX) * a + NOISE_MIX * noise).astype(np.uint8))


def cell(photo_name: str, painting_name: str, start: str) -> Image.Image:
    path = CACHE / f"{photo_name}-{painting_name}-{start}-{SETTINGS.size}-{SETTINGS.steps}.png"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        photo = open_image(ROOT / "examples" / "photos" / f"{photo_name}.jpg")
        painting = open_image(ROOT / "examples" / "styles" / f"{painting_name}.jpg")
        s = SETTINGS.replace(init="noise" if start == "noise" else "content")
        init = noisy_photo(photo.resize(photo.size)) if start == "content+noise" else None
        t = time.perf_counter()
        run(photo, painting, s, init_image=init).image.save(path)
        print(f"{photo_name} x {painting_name} from {start}: {time.perf_counter() - t:.1f} s",
              flush=True)
    return Image.open(path)


def fit(img: Image.Image, side: int = CELL) -> Image.Image:
    s = min(img.size)
    left, top = (img.width - s) // 2, (img.height - s) // 2
    return img.crop((left, top, left + s, top + s)).resize((side, side), Image.LANCZOS)


def main(out: Path = ROOT / "docs" / "default-look.jpg") -> None:
    label_w = 120
    rows = len(PHOTOS) * len(STARTS)
    sheet = Image.new("RGB", (label_w + len(PAINTINGS) * (CELL + PAD) + PAD,
                              (rows + 1) * (CELL + PAD) + PAD), "white")
    draw = ImageDraw.Draw(sheet)
    for j, name in enumerate(PAINTINGS):
        sheet.paste(fit(open_image(ROOT / "examples" / "styles" / f"{name}.jpg")),
                    (label_w + PAD + j * (CELL + PAD), PAD))
    draw.text((8, 8), f"{SETTINGS.size} px\n{SETTINGS.steps} steps\neach cell\nsame time",
              fill="black")
    r = 1
    for photo_name in PHOTOS:
        photo = open_image(ROOT / "examples" / "photos" / f"{photo_name}.jpg")
        for start in STARTS:
            y = PAD + r * (CELL + PAD)
            thumb = fit(photo if start == "content" else
                        noisy_photo(photo) if start == "content+noise" else
                        Image.effect_noise(photo.size, 64).convert("RGB"), 90)
            sheet.paste(thumb, (8, y))
            draw.text((8, y + 96), {"noise": "from noise\n(the paper)", "content": "from the photo",
                                    "content+noise": f"photo + {NOISE_MIX:.0%}\nnoise"}[start],
                      fill="black")
            for j, name in enumerate(PAINTINGS):
                sheet.paste(fit(cell(photo_name, name, start)),
                            (label_w + PAD + j * (CELL + PAD), y))
            r += 1
    out.parent.mkdir(exist_ok=True)
    sheet.save(out, quality=84, optimize=True)
    print(out, f"{out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()

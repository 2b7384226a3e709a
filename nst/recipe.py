"""The recipe in the picture: a PNG written by the command line or the app carries the settings and
the level plan it was painted with, in a text chunk, so the file alone says how to paint it again
(`python -m nst --recipe picture.png PHOTO PAINTING -o again.png`)."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, PngImagePlugin

from .settings import Settings

KEY = "nst:recipe"  # the PNG text chunk's keyword


def of_frame(frame, settings: Settings) -> dict:
    """What repeats a finished run exactly: its settings, with the plan it really took as the fixed
    levels, the arithmetic it chose and its seed (no budget: the plan is the budget's outcome)."""
    i = frame.info
    return {**settings.fixed(i.taken), "precision": i.precision, "seed": i.seed, "weights": i.weights}


def save(image: Image.Image, path, recipe: dict) -> Path:
    """Write the picture as a PNG with its recipe in a text chunk (other formats: the picture only)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        image.save(path)
        return path
    info = PngImagePlugin.PngInfo()
    info.add_text(KEY, json.dumps(recipe, separators=(",", ":")))
    image.save(path, pnginfo=info)
    return path


def read(path) -> Settings:
    """The Settings a picture's recipe holds, or ValueError with a sentence."""
    try:
        with Image.open(path) as im:
            text = (getattr(im, "text", None) or {}).get(KEY)
    except (OSError, SyntaxError):
        raise ValueError(f"cannot read {str(path)!r} as a picture") from None
    if not text:
        raise ValueError(f"{str(path)!r} carries no recipe (only PNGs this program wrote do)")
    try:
        return Settings.from_values(json.loads(text))
    except (ValueError, TypeError) as e:
        raise ValueError(f"the recipe in {str(path)!r} cannot be read: {e}") from None

"""Image intake: the one place where files from visitors and the CLI become RGB PIL images.

Every refusal is an ImageError whose message is one sentence a visitor understands.
"""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

MAX_PIXELS = 40_000_000  # decoded pixels; checked from the header, before the full decode


class ImageError(ValueError):
    """An input image was refused; str(err) is the message to show."""


def open_image(src, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open a path, bytes, file object or PIL image as an RGB image with EXIF orientation applied."""
    if isinstance(src, Image.Image):
        img = src
    else:
        if isinstance(src, (bytes, bytearray)):
            src = io.BytesIO(src)
        elif isinstance(src, (str, Path)) and not Path(src).is_file():
            raise ImageError(f"No image file at {str(src)!r}.")
        try:
            img = Image.open(src)
        except Exception:
            raise ImageError("This file is not an image that can be read (try a JPEG or PNG).") from None
    w, h = img.size
    if w * h > max_pixels:
        raise ImageError(f"The image is {w}x{h} pixels; the limit is {max_pixels // 1_000_000} "
                         "megapixels. Please upload a smaller image.")
    try:
        img = ImageOps.exif_transpose(img)
        return img.convert("RGB")
    except Exception:
        raise ImageError("This image file is damaged or incomplete and cannot be read.") from None

"""Image intake: the one place where files from visitors and the CLI become RGB PIL images.

Every refusal is an ImageError whose str() is one sentence a visitor understands, and whose
`.reason` is a short code for programs and tests. Limits are checked before the pixels are
decoded: the byte size from the file, the pixel count from the header.

Importing this module also tightens Pillow's own bomb check for the whole process, so that
Image.open refuses more than MAX_PIXELS from the header, because a web framework may call
Image.open on an upload before any of our code runs (Gradio's gr.Image does).
"""
from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 64_000_000  # 8000x8000; a 50 MP phone panorama passes, a 13000x13000 bomb does not
MAX_BYTES = 50 * 2**20  # bytes on disk
MIN_SIDE = 16  # px: VGG-19's deepest style layer sees the picture at 1/16 of its size
MAX_ASPECT = 8  # long side / short side: thinner strips leave the deep layers nothing to see
# Every raster format Pillow decodes itself (JPEG covers MPO; PPM the Netpbm family, in which
# research video datasets ship their frames). Not EPS (it runs Ghostscript), not WMF (Windows only).
FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "GIF", "BMP", "TIFF", "PPM", "TGA", "ICO", "PCX", "SGI",
           "JPEG2000", "QOI", "PSD", "DDS")
FORMAT_NAMES = ("JPEG, PNG, WebP, AVIF, GIF, BMP, TIFF, Netpbm (PPM, PGM, PBM, PNM, PFM), TGA, ICO, "
                "PCX, SGI, JPEG 2000, QOI, PSD or DDS")

Image.init()  # registers every plugin, so Image.open(formats=FORMATS) knows them all
FORMATS = tuple(f for f in FORMATS if f in Image.OPEN)  # AVIF only where this Pillow decodes it
# Pillow raises DecompressionBombError above twice MAX_IMAGE_PIXELS (and only warns above it):
# halving it makes the hard error fire at exactly MAX_PIXELS, with no reliance on warning filters
# (which are process-global, not thread-safe, and reset by test runners).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageError(ValueError):
    """An input image was refused; str(err) is the message to show, err.reason a short code:
    'missing', 'empty', 'too_big_file', 'not_image', 'svg', 'too_many_pixels', 'too_small',
    'aspect', 'damaged', 'mode'."""

    def __init__(self, message: str, reason: str = "not_image"):
        super().__init__(message)
        self.reason = reason


def open_image(src, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES,
               max_side: int | None = None) -> Image.Image:
    """Open a path, bytes, file object or PIL image as a new RGB image: EXIF orientation applied,
    the first frame of an animation, transparency composited on white, 16-bit and float images
    scaled to 0..255, CMYK and embedded colour profiles converted to sRGB.

    max_pixels may only tighten Pillow's process-wide limit (MAX_PIXELS). With max_side the
    result is shrunk so its long side is at most max_side, and JPEGs are decoded at a reduced
    scale from the start, so a 50 MP photo never costs 150 MB.
    """
    if isinstance(src, Image.Image):
        return _to_rgb(_checked(src, max_pixels), max_side)
    data = _read(src, max_bytes)
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as e:
        raise _too_many(_pixels_in(e), max_pixels) from None
    except Exception:  # Pillow's parsers raise many types on garbage; all mean "not an image"
        raise _not_an_image(data) from None
    with img:
        _checked(img, max_pixels)
        if max_side and img.format in ("JPEG", "MPO"):
            img.draft("RGB", (max_side, max_side))  # DCT scaling: decodes at 1/2, 1/4 or 1/8
        try:
            img.seek(0)  # the first frame of an animation (GIF, APNG, WebP, multi-page TIFF)
            img.load()
            return _to_rgb(img, max_side)
        except ImageError:
            raise
        except Image.DecompressionBombError as e:
            raise _too_many(_pixels_in(e), max_pixels) from None
        except Exception:  # truncated data, corrupt chunks, decoder errors
            raise ImageError("This image file is damaged or incomplete and cannot be read; "
                             "please upload it again or try another image.", "damaged") from None


def _read(src, max_bytes: int) -> bytes:
    """The file's bytes, refusing before reading anything past max_bytes."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, Path)):
        p = Path(src)
        if not p.is_file():
            raise ImageError(f"No image file at {str(src)!r}.", "missing")
        if p.stat().st_size > max_bytes:
            raise _too_big_file(p.stat().st_size, max_bytes)
        data = p.read_bytes()
    elif hasattr(src, "read"):
        data = src.read(max_bytes + 1)
    else:
        raise ImageError("Expected an image file.", "not_image")
    if len(data) > max_bytes:
        raise _too_big_file(len(data), max_bytes)
    if not data:
        raise ImageError("The file is empty (0 bytes); please upload an image.", "empty")
    return data


def _checked(img: Image.Image, max_pixels: int) -> Image.Image:
    """Refuse by size from the header alone (nothing decoded yet)."""
    w, h = img.size
    if w * h > max_pixels:
        raise _too_many(w * h, max_pixels, (w, h))
    if min(w, h) < MIN_SIDE and max(w, h) <= MAX_ASPECT * min(w, h):
        raise ImageError(f"The image is only {w}x{h} pixels; please upload one at least "
                         f"{MIN_SIDE} pixels on each side.", "too_small")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise ImageError(f"The image is {w}x{h} pixels, a very thin strip; please crop it so "
                         f"its long side is at most {MAX_ASPECT} times its short side.", "aspect")
    return img


def _to_rgb(img: Image.Image, max_side: int | None) -> Image.Image:
    try:
        img = ImageOps.exif_transpose(img)  # always a new image, never the caller's
    except Exception:  # broken EXIF: keep the picture as stored rather than refuse it
        img = img.copy()
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        img = _scaled_to_8bit(img)
    if img.mode in ("P", "PA", "LA", "La", "RGBa") or "transparency" in img.info:
        img = img.convert("RGBA")  # palette and premultiplied alpha made plain before compositing
    if img.mode == "CMYK" or "icc_profile" in img.info:
        img = _to_srgb(img)
    if img.mode == "RGBA":
        img = _on_white(img)
    if img.mode != "RGB":
        try:
            img = img.convert("RGB")
        except (ValueError, OSError):
            raise ImageError(f"Images in the {img.mode} colour format are not supported; "
                             "please save it as an RGB JPEG or PNG.", "mode") from None
    if max_side and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return img


def _scaled_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit grey to 0..255. Pillow's own convert clips them (every value above 255
    turns white). Integers are taken as 16-bit (0..65535), floats as 0..1 when they fit, and
    anything else is stretched from its min to its max."""
    a = np.asarray(img, dtype=np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if img.mode == "F" and lo >= 0 and hi <= 1:
        a = a * 255
    elif img.mode != "F" and lo >= 0 and hi <= 65535:
        a = a / 257
    elif lo < 0 or hi > 255:
        a = (a - lo) * (255 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return Image.fromarray(np.nan_to_num(a).clip(0, 255).round().astype(np.uint8), "L")


def _to_srgb(img: Image.Image) -> Image.Image:
    """Apply the embedded colour profile (Adobe RGB, Display P3, CMYK press profiles) so colours
    look as the camera or designer meant; without one Pillow's plain conversion is used."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            alpha = img.getchannel("A") if img.mode == "RGBA" else None
            base = img.convert("RGB") if img.mode == "RGBA" else img
            out = ImageCms.profileToProfile(base, src, ImageCms.createProfile("sRGB"),
                                            outputMode="RGB")
            if out is not None:
                if alpha is not None:
                    out.putalpha(alpha)
                return out
        except Exception:  # a broken or unusual profile: fall back to the plain conversion
            pass
    return img.convert("RGB") if img.mode == "CMYK" else img


def _on_white(img: Image.Image) -> Image.Image:
    """Transparent pixels become white (what a viewer shows on a white page), not black."""
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, img).convert("RGB")


def _pixels_in(err: Exception) -> int | None:
    m = re.search(r"\((\d+) pixels\)", str(err))
    return int(m.group(1)) if m else None


def _too_many(pixels: int | None, max_pixels: int, wh: tuple | None = None) -> ImageError:
    limit = min(max_pixels, MAX_PIXELS) / 1e6
    size = f"{wh[0]}x{wh[1]} pixels" if wh else (f"{pixels / 1e6:.0f} megapixels" if pixels
                                                 else "too many pixels")
    return ImageError(f"The image is {size}; the limit is {limit:g} megapixels. "
                      "Please upload a smaller image.", "too_many_pixels")


def _too_big_file(n: int, max_bytes: int) -> ImageError:
    return ImageError(f"The file is {n / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB. "
                      "Please upload a smaller image.", "too_big_file")


def _not_an_image(data: bytes) -> ImageError:
    head = data[:512].lstrip().lower()
    if b"<svg" in head or head.startswith(b"<?xml"):
        return ImageError("SVG drawings are not supported; please upload a JPEG or PNG picture.",
                          "svg")
    return ImageError(f"This file is not an image that can be read; please upload a "
                      f"{FORMAT_NAMES} file.", "not_image")

"""A corpus of odd and hostile image files, generated here (nothing downloaded), shared by the
intake unit tests, the API tests and bench/load_test.py.

Each Case has the file name a visitor would send, its bytes, and what must happen to it:
`reason` is the ImageError.reason it must be refused with (None: it must be accepted), and
`size` the (width, height) intake must return for accepted files (after EXIF rotation).
"""
from __future__ import annotations

import functools
import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Colours chosen so that a wrong conversion is visible: a wrong 16-bit scale turns grey white,
# an ignored alpha turns white black, a wrong CMYK path shifts hue.
ORANGE = (230, 120, 30)
TEAL = (20, 150, 140)


@dataclass(frozen=True)
class Case:
    name: str  # file name as uploaded (the extension may lie)
    data: bytes
    reason: str | None = None  # ImageError.reason expected, None when it must be accepted
    size: tuple | None = None  # (w, h) after intake, for accepted files
    colour: tuple | None = None  # RGB expected at the centre of the intake result (+-12)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def photo(w: int = 64, h: int = 48, seed: int = 0) -> Image.Image:
    """A smooth picture with texture: gradients plus noise, so JPEG data is spread over the file."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 / max(1, w - 1), y * 255 / max(1, h - 1), np.full((h, w), 128.0)], -1)
    a += rng.normal(0, 20, a.shape)
    return Image.fromarray(a.clip(0, 255).astype(np.uint8), "RGB")


def png_header_only_bomb(w: int, h: int) -> bytes:
    """A valid greyscale PNG of w x h zero pixels, compressed row by row so that making it never
    holds the decoded image in memory (13000x13000 is ~160 KiB on disk, 169 MB decoded)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    z = zlib.compressobj(9)
    row = bytes(w + 1)  # filter byte 0 + w zero pixels
    idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _exif_rotated() -> bytes:
    # Stored 64x32 (landscape) with Orientation=6: a viewer rotates it 90 degrees clockwise, so
    # the visitor sees a 32x64 portrait. The left half is orange, the right teal; after rotation
    # orange is on top.
    img = Image.new("RGB", (64, 32), TEAL)
    img.paste(ORANGE, (0, 0, 32, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(img, "JPEG", exif=exif.tobytes(), quality=95)


def _palette_transparent() -> bytes:
    img = Image.new("P", (48, 48), 0)
    img.putpalette([0, 0, 0] + list(ORANGE) + [0, 0, 0] * 254)
    img.paste(1, (0, 0, 48, 16))  # an orange band on top, the rest index 0 = transparent black
    return encode(img, "PNG", transparency=0)


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 40), c) for c in (ORANGE, TEAL, (0, 0, 255))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _gray16() -> bytes:
    # 16-bit grey at 0x8080 = 32896, i.e. 128 in 8 bits; Pillow's plain convert would give 255.
    return encode(Image.fromarray(np.full((40, 56), 32896, np.uint16)), "PNG")


def _float_tiff() -> bytes:
    return encode(Image.fromarray(np.full((32, 32), 0.5, np.float32), "F"), "TIFF")


def _rgba_half() -> bytes:
    a = np.zeros((32, 48, 4), np.uint8)
    a[..., :3] = 0  # black, fully transparent: must come out white, not black
    return encode(Image.fromarray(a, "RGBA"), "PNG")


def _truncated_jpeg() -> bytes:
    data = encode(photo(96, 64), "JPEG", quality=90)
    return data[: len(data) // 2]


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
       b'<rect width="64" height="64" fill="red"/></svg>\n')


@functools.lru_cache(maxsize=None)
def corpus() -> tuple[Case, ...]:
    cmyk = Image.new("RGB", (48, 40), ORANGE).convert("CMYK")
    return (
        Case("bomb.png", png_header_only_bomb(13000, 13000), "too_many_pixels"),
        Case("bomb_9000.png", png_header_only_bomb(9000, 9000), "too_many_pixels"),
        Case("truncated.jpg", _truncated_jpeg(), "damaged"),
        Case("cmyk.jpg", encode(cmyk, "JPEG", quality=95), None, (48, 40), ORANGE),
        Case("gray16.png", _gray16(), None, (56, 40), (128, 128, 128)),
        Case("float.tif", _float_tiff(), None, (32, 32), (128, 128, 128)),
        Case("palette_transparent.png", _palette_transparent(), None, (48, 48), (255, 255, 255)),
        Case("rgba_transparent.png", _rgba_half(), None, (48, 32), (255, 255, 255)),
        Case("exif_rotated.jpg", _exif_rotated(), None, (32, 64), None),
        Case("animated.gif", _animated_gif(), None, (40, 40), ORANGE),
        Case("svg_renamed.png", SVG, "svg"),
        Case("text_renamed.png", b"hello, this is not a picture\n" * 20, "not_image"),
        Case("empty.png", b"", "empty"),
        Case("one_pixel.png", encode(Image.new("RGB", (1, 1), ORANGE), "PNG"), "too_small"),
        Case("strip.png", encode(Image.new("L", (20000, 10), 200), "PNG"), "aspect"),
        Case("webp.webp", encode(Image.new("RGB", (40, 30), TEAL), "WEBP", quality=95),
             None, (40, 30), TEAL),
        Case("photo.jpg", encode(photo(), "JPEG", quality=90), None, (64, 48), None),
    )


def by_name(name: str) -> Case:
    return next(c for c in corpus() if c.name == name)

"""Spatial control (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer"):
a one-channel mask splits the picture into regions, each matched to its own Gram targets.

The mask is resized with the photo at every pyramid level, then average-pooled 2x2 once per pool
VGG-19 applies before a style layer, so at each layer it has the feature map's exact size (the
floor of each halving, as the network's own pooling gives) and soft edges where a pooled cell
straddles the brushed boundary.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .intake import MAX_PIXELS  # the same pixel budget as every other image
from .settings import MASK_MODES
from .vgg import pools_before

MIN_AREA = 0.5  # a region smaller than half a map position at a layer has no statistics there
# The feather of mode 'inside': a Gaussian of this sigma (px at the picture's own size) softens the
# mask's edge; it reaches 3 sigma (about 5 px), so 8 px out the picture is the photo itself.
FEATHER_SIGMA = 1.5
ASPECT_SLACK = 0.03  # a mask may differ from the photo's aspect by rounding, not by a crop


def to_mask(img: Image.Image) -> torch.Tensor:
    """(1, 1, H, W) float in 0..1: white (or opaque, for a brush layer on transparency) = inside."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = np.asarray(img.convert("RGBA"), dtype=np.float32)[..., 3]
        if alpha.min() < 255:  # strokes on a transparent layer: where it is painted is the mask
            return torch.from_numpy(alpha / 255)[None, None]
    grey = np.asarray(img.convert("L"), dtype=np.float32)
    return torch.from_numpy(grey / 255)[None, None]


def open_mask(path) -> Image.Image:
    """A mask file as a one-channel 'L' image (see to_mask), or ValueError with a sentence."""
    if not Path(path).is_file():
        raise ValueError(f"no mask file at {str(path)!r}")
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"the mask {str(path)!r} is {img.width}x{img.height} px, too large")
            img.load()
            m = to_mask(img)
    except (OSError, SyntaxError, Image.DecompressionBombError):
        raise ValueError(f"cannot read the mask {str(path)!r} as an image") from None
    return Image.fromarray((m[0, 0].numpy() * 255).round().astype(np.uint8), "L")


def brushed(layers) -> Image.Image | None:
    """The mask an image editor's brush layers draw ('L', painted = white), or None when nothing
    was painted. Layers are RGBA images (transparent where untouched), all of one size. A
    see-through brush still means "here": alpha at half the strongest stroke or more counts as
    fully inside; only the brush's soft rim stays partial."""
    alpha = None
    for layer in layers or ():
        a = np.asarray(layer.convert("RGBA"), dtype=np.uint8)[..., 3]
        alpha = a if alpha is None else np.maximum(alpha, a)
    if alpha is None or alpha.max() == 0:
        return None
    full = np.clip(alpha.astype(np.float32) / (0.5 * alpha.max()), 0, 1)
    return Image.fromarray((full * 255).round().astype(np.uint8), "L")


def check(mask: Image.Image, photo_size: tuple[int, int], mode: str, n_styles: int) -> None:
    """Raise ValueError with one sentence when this mask cannot drive this run."""
    if mode not in MASK_MODES:
        raise ValueError(f"mask_mode must be one of {', '.join(MASK_MODES)}; got {mode!r}")
    if mode == "split" and n_styles != 2:
        raise ValueError(f"mask_mode 'split' puts painting 1 inside the mask and painting 2 "
                         f"outside it, so it needs exactly 2 paintings; got {n_styles}")
    (mw, mh), (pw, ph) = mask.size, photo_size
    if abs(mw / mh - pw / ph) > ASPECT_SLACK * pw / ph:
        raise ValueError(f"the mask is {mw}x{mh} px but the photo is {pw}x{ph}: draw the mask on "
                         f"the photo, or give it the photo's proportions")
    if mode == "inside" and float(to_mask(mask).max()) < 1 / 255:
        raise ValueError("the mask is empty (all black): paint white where the style should go")


def check_paintable(mask: Image.Image, photo_size: tuple[int, int], size: int, style_layers) -> None:
    """Raise ValueError with a sentence when the brushed region is too small to be painted even at
    the final size `size` (long side, px): at no style layer does it cover MIN_AREA of a map
    position. (A region too small for a coarse pyramid level is simply left out there.)"""
    w, h = photo_size
    s = size / max(w, h)
    hw = (max(1, round(h * s)), max(1, round(w * s)))
    m = resized(to_mask(mask), hw)
    if not any(area(_pooled(m, pools_before(l))) >= MIN_AREA for l in style_layers):
        raise ValueError(f"the brushed region is too small to paint at {max(hw)} px (it covers about "
                         f"{float(m.sum()):.1f} px there, blurred by the resize): brush a larger area, "
                         f"or paint at a larger size")


def resized(mask: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """The mask at a pyramid level's size (bilinear, antialiased when shrinking)."""
    shrink = hw[0] < mask.shape[-2] or hw[1] < mask.shape[-1]
    return F.interpolate(mask, size=hw, mode="bilinear", align_corners=False,
                         antialias=shrink).clamp(0, 1)


def feathered(mask: torch.Tensor, sigma: float = FEATHER_SIGMA) -> torch.Tensor:
    """The mask with a soft edge: blurred by a Gaussian of `sigma` px (edges replicated, so a
    mask of ones stays ones), then exactly 0 / 1 where the blur is within 1/255 of it: the far
    outside is the photo to the grey level and the far inside all painting."""
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=mask.dtype, device=mask.device) / sigma) ** 2)
    k = k / k.sum()
    m = F.pad(mask, (r, r, r, r), mode="replicate")
    m = F.conv2d(F.conv2d(m, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
    return torch.where(m < 1 / 255, 0.0, torch.where(m > 254 / 255, 1.0, m))


def composite(x: torch.Tensor, photo: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Mode 'inside': the picture where the (feathered) mask is, the photo elsewhere,
    x' = m x + (1 - m) P. The network sees x', so the painted part is painted in the photo's
    context (no seam), and the gradient outside is zero: the rest stays the photo exactly."""
    return m * x + (1 - m) * photo


def at_layers(mask: torch.Tensor, pools: dict) -> dict:
    """{layer: mask pooled to that layer's map}, `pools` giving the number of 2x2 pools before it."""
    return {layer: _pooled(mask, n) for layer, n in pools.items()}


def _pooled(mask: torch.Tensor, n: int) -> torch.Tensor:
    for _ in range(n):
        mask = F.avg_pool2d(mask, 2, 2)
    return mask


def area(m: torch.Tensor) -> float:
    """M_r = sum_k m_k^2: the positions a guided Gram matrix sums over."""
    return float(m.pow(2).sum())

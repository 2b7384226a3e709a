"""PIL <-> tensor, resizing, and colour handling (Gatys et al. 2016, "Preserving colour in NST").

Tensors here are float32, shape (1, 3, H, W), RGB in 0..255.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# ITU-R BT.601 RGB -> YIQ, the colour space the colour-preservation paper uses.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def to_tensor(img: Image.Image) -> torch.Tensor:
    a = np.asarray(img.convert("RGB"), dtype=np.float32)
    return torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(x: torch.Tensor) -> Image.Image:
    a = x.detach().float()[0].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(a, "RGB")


def fit_size(w: int, h: int, long_side: int) -> tuple[int, int]:
    """(width, height) with the long side = long_side, aspect kept, each side >= 1."""
    s = long_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def resize(x: torch.Tensor, long_side: int) -> torch.Tensor:
    """Resize a (1,3,H,W) tensor so its long side is long_side (antialiased when shrinking)."""
    h, w = x.shape[-2:]
    nw, nh = fit_size(w, h, long_side)
    if (nh, nw) == (h, w):
        return x
    return F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False,
                         antialias=nh < h).clamp(0, 255)


def resize_to(x: torch.Tensor, hw: tuple[int, int], antialias: bool = False) -> torch.Tensor:
    return F.interpolate(x, size=hw, mode="bicubic", align_corners=False, antialias=antialias).clamp(0, 255)


def detail(x: torch.Tensor, coarse_hw: tuple[int, int]) -> torch.Tensor:
    """What `x` has that its enlargement from `coarse_hw` lacks: x - up(down(x)), zero-mean."""
    return x - resize_to(resize_to(x, coarse_hw, antialias=True), tuple(x.shape[-2:]))


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _YIQ.to(x), x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_YIQ).to(x), x)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """Y channel repeated to 3 channels: what the network sees in luminance-only transfer."""
    return rgb_to_yiq(x)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(style_y: torch.Tensor, content_y: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luminance to the content's mean and std (Gatys 2016, eq. 2)."""
    ms, ss = style_y.mean(), style_y.std().clamp_min(1e-6)
    return ((style_y - ms) * (content_y.std() / ss) + content_y.mean()).clamp(0, 255)


def with_chroma_of(y_source: torch.Tensor, colour_source: torch.Tensor) -> torch.Tensor:
    """Take luminance from y_source and the I, Q chroma from colour_source (same size)."""
    yiq = rgb_to_yiq(colour_source)
    yiq = torch.cat([rgb_to_yiq(y_source)[:, :1], yiq[:, 1:]], 1)
    return yiq_to_rgb(yiq).clamp(0, 255)


def _sqrtm(c: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(c)
    vals = vals.clamp_min(1e-5).pow(-0.5 if inverse else 0.5)
    return vecs @ torch.diag(vals) @ vecs.T


def match_histogram(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Linear colour transfer: give `style` the mean and covariance of `content`'s RGB values
    (x' = C_c^1/2 C_s^-1/2 (x - mu_s) + mu_c, the 'image analogies' variant of Gatys 2016)."""
    s, c = style.double().flatten(2)[0], content.double().flatten(2)[0]
    mu_s, mu_c = s.mean(1, keepdim=True), c.mean(1, keepdim=True)
    eye = 1e-3 * torch.eye(3, dtype=s.dtype)
    cov_s = torch.cov(s) + eye
    cov_c = torch.cov(c) + eye
    t = _sqrtm(cov_c) @ _sqrtm(cov_s, inverse=True)
    out = (t @ (s - mu_s) + mu_c).view_as(style.double())
    return out.float().clamp(0, 255)


def chroma(img: Image.Image | torch.Tensor) -> torch.Tensor:
    """Mean I and Q of an image: a two-number summary of its colour cast (for tests and checks)."""
    x = to_tensor(img) if isinstance(img, Image.Image) else img
    return rgb_to_yiq(x)[:, 1:].mean((0, 2, 3))

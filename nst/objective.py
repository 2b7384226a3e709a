"""One level's objective, L = alpha L_content + beta L_style (+ masks, temporal, TV), of an image x.

The targets, P^l (content) and A^l (style Grams), are computed once, without grad, when the
objective is made; calling it evaluates L of a picture. This is the seam between what is
minimised and how (nst/descent.py): the descent only ever sees a picture and its gradient.
"""
from __future__ import annotations

import contextlib
import math

import torch

from . import images, masks
from .losses import content_loss, gram, guided_style_loss, style_loss, temporal_loss, total_loss, tv_loss
from .settings import Settings
from .vgg import pools_before

# px: alpha is the paper's for a picture of this many pixels, a 3:2 photo at a 512 px long side
REF_AREA = 512 * 512 * 2 // 3


class Objective:
    """L = alpha L_content + beta L_style (+ TV, + temporal) at one level, targets made once.

    Each painting's Gram targets are kept apart (A_each) and mixed by the blend, so steer() can
    re-mix them, re-weight the layers or move alpha/beta without recomputing any feature. With a
    `mask` (1, 1, H, W at this level's size) the style loss is the guided one of nst/masks.py.
    `autocast` is a context manager factory (bf16 or none), `fmt` the memory format of the trunk."""

    def __init__(self, net, s: Settings, content, styles, blend, size_hw, autocast=contextlib.nullcontext,
                 fmt=torch.contiguous_format, mask: torch.Tensor | None = None, temporal: list | None = None):
        self.net, self.s, self.autocast, self.fmt = net, s, autocast, fmt
        self.alpha_scale = alpha_scale(size_hw)
        self.alpha = s.content_weight * self.alpha_scale
        self.beta = s.style_weight
        self.content_layers = tuple(s.content_layers) if self.alpha > 0 else ()
        self.style_layers = style_layers = tuple(s.style_layers) if self.beta > 0 else ()
        w = s.layer_weights or [1.0 / max(1, len(s.style_layers))] * len(s.style_layers)
        self.layer_weights = dict(zip(style_layers, w))
        self.taps = tuple(dict.fromkeys(self.content_layers + style_layers))
        self.M = {l: map_area(l, size_hw) for l in style_layers}
        with torch.no_grad():
            # only as deep as the content layer: conv4_2 needs no block 5
            P = self.features(content, self.content_layers) if self.content_layers else {}
            self.P = {l: P[l].float() for l in self.content_layers}
            # Gram sums grow with the style image's area; rescale to the output's so a style image
            # of another size or aspect asks for the same statistics.
            self.A_each = [{l: gram(F) * (self.M[l] / (F.shape[2] * F.shape[3]))
                            for l, F in self.features(style, style_layers).items()}
                           for style in (styles if style_layers else ())]
            self._regions = self._guide(mask) if mask is not None and style_layers else None
        # mode 'inside': the picture is composited over the photo (nst/masks.py)
        self.keep = (masks.feathered(mask), content) if mask is not None and s.mask_mode == "inside" else None
        # a video frame: [(a painted neighbour warped onto this frame, its reliability)]
        self.temporal = list(temporal or ()) if s.temporal_weight else []
        self.gamma = s.temporal_weight * 3 * size_hw[0] * size_hw[1]  # the 1/D of eq. 6 undone
        self.mix(blend)

    def _guide(self, mask) -> list:
        """[(masks, areas, source)] per region: inside the mask the paintings ('blend', or painting
        0 in split mode); outside it painting 1 in split mode, else nothing: there the composite
        (picture()) keeps the photo itself, so it needs no statistics of its own."""
        inside = masks.at_layers(mask, {l: pools_before(l) for l in self.style_layers})
        areas = lambda ms: {l: masks.area(m) for l, m in ms.items()}  # noqa: E731
        if self.s.mask_mode == "split":
            outside = {l: 1 - m for l, m in inside.items()}
            return [(inside, areas(inside), 0), (outside, areas(outside), 1)]
        return [(inside, areas(inside), "blend")]

    def picture(self, x: torch.Tensor) -> torch.Tensor:
        """What the optimised pixels x show: x itself, or with mode 'inside' x over the photo."""
        return x if self.keep is None else masks.composite(x, self.keep[1], self.keep[0])

    def mix(self, blend) -> None:
        """A^l = sum_i b_i A_i^l over the paintings; per region, scaled to the region's area."""
        mixed = {}
        for A_i, b in zip(self.A_each, blend):
            for l, A in A_i.items():
                mixed[l] = mixed.get(l, 0) + b * A
        self.A = mixed
        if self._regions is None:
            return
        self.region_targets = []
        for ms, areas, source in self._regions:
            base = mixed if source == "blend" else self.A_each[source]
            targets = {l: base[l] * (areas[l] / self.M[l]) for l in base if areas[l] >= masks.MIN_AREA}
            self.region_targets.append((ms, areas, targets))

    def steer(self, ratio=None, layer_weights=None, style_blend=None) -> None:
        """Apply live controls (nst/controls.py); None keeps a knob where it is."""
        if ratio is not None and self.beta > 0:
            self.alpha = ratio * self.beta * self.alpha_scale
        if layer_weights is not None:
            self.layer_weights = dict(zip(self.style_layers, layer_weights))
        if style_blend is not None and self.A_each:
            self.mix([w / sum(style_blend) for w in style_blend])

    def features(self, x, taps=None):
        x = x.contiguous(memory_format=self.fmt)  # differentiable; x itself stays NCHW for L-BFGS
        with self.autocast():
            return self.net(x, taps or self.taps, self.s.pooling)

    def __call__(self, x):
        """(L, L_content, L_style) of the picture the pixels x show."""
        x = self.picture(x)
        feats = self.features(x)
        zero = x.new_zeros(())
        Lc = sum((content_loss(feats[l], self.P[l]) for l in self.content_layers), zero)
        if not self.layer_weights:
            Ls = zero
        elif self._regions is None:
            Ls = style_loss(feats, self.A, self.layer_weights)
        else:
            Ls = guided_style_loss(feats, self.region_targets, self.layer_weights)
        tv = tv_loss(x) if self.s.tv_weight else zero
        Lt = sum((temporal_loss(x, w, c) for w, c in self.temporal), zero)
        return total_loss(Lc, Ls, self.alpha, self.beta, tv, self.s.tv_weight, Lt, self.gamma), Lc, Ls


def alpha_scale(size_hw) -> float:
    """What alpha is multiplied by at an image of size_hw: REF_AREA / (H W).

    The content loss is a sum over the M_l positions of a map while each E_l is normalised by
    M_l^2, so their balance shifts with the pixel count. alpha is the paper's at REF_AREA pixels
    (there L is exactly alpha L_content + beta L_style); scaling by the area, not by the long
    side, keeps that balance for every size, aspect and pyramid level."""
    h, w = size_hw
    return REF_AREA / (h * w)


def map_area(layer: str, size_hw) -> int:
    """M_l of a picture of size_hw at this layer: the map shrinks by 2 at each pool before it."""
    h, w = size_hw
    for _ in range(pools_before(layer)):
        h, w = h // 2, w // 2
    return h * w


def min_side(layers) -> int:
    """The smallest image side that still leaves a 1-px map at the deepest of `layers`: each of
    the pools before it halves the map (conv5_1 sits behind four pools, so 16 px)."""
    return 2 ** max(map(pools_before, layers), default=0)


def layers_used(s: Settings) -> tuple:
    """The layers whose loss has a weight: only they limit how thin an image may be."""
    return (tuple(s.content_layers) if s.content_weight else ()) + \
        (tuple(s.style_layers) if s.style_weight else ())


def blend_weights(s: Settings, n_styles: int) -> list[float]:
    """Style image weights, normalised to sum to 1 (equal when not given)."""
    w = s.style_blend or [1.0] * n_styles
    return [float(v) / sum(w) for v in w]


def at_least(x: torch.Tensor, long_side: int, short_min: int) -> torch.Tensor:
    """Resize to long_side, but never let the short side fall under short_min (aspect kept)."""
    h, w = x.shape[-2:]
    need = math.ceil(short_min * max(h, w) / min(h, w))
    return images.resize(x, max(long_side, need))


def level_images(content_full: torch.Tensor, style_full: list, long_side: int, s: Settings):
    """The content and style images for one level: resized, colours handled as s.colors says."""
    short_min = min_side(layers_used(s))
    c = images.resize(content_full, long_side)
    st = [at_least(im, round(long_side * s.style_scale), short_min) for im in style_full]
    if s.colors == "luminance":
        cy = images.luminance(c)
        st = [images.match_luminance(images.luminance(im), cy) for im in st]
        c = cy
    elif s.colors == "histogram":
        st = [images.match_histogram(im, c) for im in st]
    return c, st

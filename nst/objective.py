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
from .blocks import tiles
from .losses import (complementary_gram, content_loss, grain, grain_loss, gram, guided_gram, guided_style_loss,
                     style_loss, range_loss, temporal_loss, total_loss, tv_loss)
from .settings import Settings
from .vgg import pools_before

# px: alpha is the paper's for a picture of this many pixels, a 3:2 photo at a 512 px long side
REF_AREA = 512 * 512 * 2 // 3
# The grain cap's stiffness, times beta: an excess of one grey level of grain weighs about a fifth
# of what a finished picture's whole objective does, so the cap holds within a few per cent even
# through Adam's first steps at a level, which move every pixel by about lr (bench/quality.py)
GRAIN_STIFFNESS = 1e7
RANGE_STIFFNESS = 1e5  # x beta, per mean squared grey level outside 0..255
# A box painted for a surround completes the rest's statistics up to this many times the rest's
# own deviation per position (losses.complementary_gram); uncapped, a pan's thin strip was asked
# for statistics it could not reach and later frames drifted (bench/README.md, Video)
COMPLEMENT_CAP = 1.0


class Objective:
    """L = alpha L_content + beta L_style (+ TV, + temporal) at one level, targets made once.

    Each painting's Gram targets are kept apart (A_each) and mixed by the blend, so steer() can
    re-mix them, re-weight the layers or move alpha/beta without recomputing any feature. With a
    `mask` (1, 1, H, W at this level's size) the style loss is the guided one of nst/masks.py.
    `autocast` is a context manager factory (bf16 or none), `fmt` the memory format of the trunk.

    `block` (px): evaluate VGG-19 block by block (nst/blocks.py) instead of on the whole picture
    at once, the targets included: the same L and the same gradient (two passes: the statistics
    of all blocks, then each block's gradient from them), in memory bounded by the block's size.

    `surround` (picture, free), both at this level's scale: the whole picture this one is a box of,
    and a mask (1, 1, H, W) of its parts painted anew, this box among them; the style targets then
    complete what the rest of the picture lacks (_complete), and its grain is held to the
    painting's at the whole picture's pixel count, whose scale its strokes are painted at, over
    the part it paints (where no temporal target holds it)."""

    def __init__(self, net, s: Settings, content, styles, blend, size_hw, autocast=contextlib.nullcontext,
                 fmt=torch.contiguous_format, mask: torch.Tensor | None = None, temporal: list | None = None,
                 block: int | None = None, on_block=None, surround: tuple | None = None):
        self.net, self.s, self.autocast, self.fmt, self.block = net, s, autocast, fmt, block
        self.on_block = on_block  # (pass, block, blocks) after each block: progress for a long step
        self.alpha_scale = alpha_scale(size_hw)
        self.alpha = s.content_weight * self.alpha_scale
        self.beta = s.style_weight
        self.content_layers = tuple(s.content_layers) if self.alpha > 0 else ()
        self.style_layers = style_layers = tuple(s.style_layers) if self.beta > 0 else ()
        w = s.layer_weights or [1.0 / max(1, len(s.style_layers))] * len(s.style_layers)
        self.layer_weights = dict(zip(style_layers, w))
        self.taps = tuple(dict.fromkeys(self.content_layers + style_layers))
        self.M = {l: map_area(l, size_hw) for l in style_layers}
        self.sizes = {l: (net_width(l), self.M[l]) for l in style_layers}
        self.P = self._content_maps(content) if self.content_layers else {}
        # Gram sums grow with the style image's area; rescale to the output's so a style image
        # of another size or aspect asks for the same statistics.
        self.A_each = [{l: G * (self.M[l] / map_area(l, tuple(style.shape[-2:]))) for l, G in self._grams(style).items()}
                       for style in (styles if style_layers else ())]
        if surround is not None:
            self._complete(*surround)
        self._regions = self._guide(mask) if mask is not None and style_layers else None
        # mode 'inside': the picture is composited over the photo (nst/masks.py)
        self.keep = (masks.feathered(mask), content) if mask is not None and s.mask_mode == "inside" else None
        # a video frame: [(a painted neighbour warped onto this frame, its reliability)]
        self.temporal = list(temporal or ()) if s.temporal_weight else []
        # 0..1 per pixel: how firmly the temporal targets hold it (the most reliable one's c)
        self.held = torch.stack([c for _, c in self.temporal]).amax(0) if self.temporal else None
        self.gamma = s.temporal_weight * 3 * size_hw[0] * size_hw[1]  # the 1/D of eq. 6 undone
        # each painting's grain at this picture's pixel count (a box's: the whole picture's, its
        # strokes are the whole's size): the cap a picture's grain is held to
        grain_hw = size_hw if surround is None else tuple(surround[0].shape[-2:])
        self.g_each = [painting_grain(st, grain_hw) for st in styles] if s.grain and style_layers else []
        # where the cap measures grain: within the brush; in a box, where it paints (where no
        # temporal target holds it): over the whole box the held rest's lower grain hid the strip's
        self.grain_where = self.keep and self.keep[0]
        if surround is not None and self.held is not None:
            self.grain_where = 1 - self.held
        self.mix(blend)

    def _complete(self, picture: torch.Tensor, free: torch.Tensor) -> None:
        """Each painting's targets made those that complete the statistics of the picture around
        this one (losses.complementary_gram): the rest's guided Gram, outside `free`."""
        with torch.no_grad():
            feats = self.features(picture, self.style_layers)
        new = masks.at_layers(free, {l: pools_before(l) for l in self.style_layers})
        rest = {l: 1 - m for l, m in new.items()}  # average pooling is linear: the rest's, as _guide's outside
        for l in self.style_layers:
            M_rest, M_free = masks.area(rest[l]), masks.area(new[l])
            if M_rest < masks.MIN_AREA or M_free < masks.MIN_AREA:
                continue
            G_rest = guided_gram(feats[l], rest[l])
            for A_i in self.A_each:
                A_i[l] = complementary_gram(A_i[l], self.M[l], G_rest, M_rest, M_free, COMPLEMENT_CAP)

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
        self.grain_max = self.s.grain * sum(b * g for b, g in zip(blend, self.g_each)) if self.g_each else None
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

    # ------------------------------------------------------------------------ the whole picture
    def __call__(self, x):
        """(L, L_content, L_style) of the picture the pixels x show, differentiable (the whole
        picture at once: for pictures that fit in memory)."""
        xp = self.picture(x)
        L, Lc, Ls = self._loss_of(self._statistics(self.features(xp)))
        return L + self._pixel_terms(xp), Lc, Ls

    def evaluate(self, x: torch.Tensor):
        """(L, L_content, L_style) of x, detached, with dL/dx left in x.grad: at once, or by
        blocks (the same numbers in bounded memory)."""
        if self.block is None:
            L, Lc, Ls = self(x)
            L.backward()
            return L.detach(), Lc.detach(), Ls.detach()
        return self._by_blocks(x, gradient=True)

    def value(self, x: torch.Tensor):
        """(L, L_content, L_style) of x, without a gradient."""
        with torch.no_grad():
            return self(x) if self.block is None else self._by_blocks(x, gradient=False)

    def _statistics(self, feats: dict, block=None, hw=None) -> dict:
        """What L needs of a picture's features: the content loss's sum and the Gram matrices
        (per region with a mask), of the whole maps or of a block's inner part (`block`, of a
        picture of size hw). Every one of them is a sum over map positions, so the whole
        picture's is the sum of its blocks'."""
        crop = (lambda F, l: block.inner_of(F, pools_before(l), hw)) if block else (lambda F, l: (F, None))
        stats = {}
        for l in self.content_layers:
            F, at = crop(feats[l], l)
            P = self.P[l] if at is None else self.P[l][..., at[0]:at[1], at[2]:at[3]]
            stats["content"] = stats.get("content", 0) + content_loss(F, P)
        for l in self.layer_weights:
            F, at = crop(feats[l], l)
            if self._regions is None:
                stats[("gram", l)] = gram(F)
                continue
            for r, (ms, _, targets) in enumerate(self.region_targets):
                if l in targets:
                    m = ms[l] if at is None else ms[l][..., at[0]:at[1], at[2]:at[3]]
                    stats[(r, l)] = guided_gram(F, m)
        return stats

    def _loss_of(self, stats: dict):
        """(alpha L_content + beta L_style, L_content, L_style) from the statistics."""
        zero = next((v for v in stats.values() if isinstance(v, torch.Tensor)), torch.zeros(())).new_zeros(())
        Lc = stats.get("content", zero) + zero
        if not self.layer_weights:
            Ls = zero
        elif self._regions is None:
            Ls = style_loss({l: stats[("gram", l)] for l in self.layer_weights}, self.A, self.layer_weights,
                            self.sizes)
        else:
            grams = [{l: stats[(r, l)] for l in self.layer_weights if (r, l) in stats}
                     for r in range(len(self.region_targets))]
            Ls = guided_style_loss(grams, self.region_targets, self.layer_weights, self.sizes)
        return total_loss(Lc, Ls, self.alpha, self.beta), Lc, Ls

    def _pixel_terms(self, xp: torch.Tensor) -> torch.Tensor:
        """The terms of L that need no network: total variation, the grain cap (within the brush
        with a mask in mode 'inside'), the temporal loss and the range (what the visitor sees is
        clipped: unclipped, L-BFGS's picture measured 1.2x its own objective once shown)."""
        zero = xp.new_zeros(())
        tv = tv_loss(xp) if self.s.tv_weight else zero
        Lg = zero if self.grain_max is None else grain_loss(xp, self.grain_max, self.grain_where)
        Lt = sum((temporal_loss(xp, w, c) for w, c in self.temporal), zero)
        return total_loss(zero, zero, 0.0, 0.0, tv, self.s.tv_weight, Lt, self.gamma, Lg,
                          GRAIN_STIFFNESS * self.beta if self.grain_max is not None else 0.0
                          ) + RANGE_STIFFNESS * self.beta * range_loss(xp)

    # ------------------------------------------------------------------------ by blocks
    def _by_blocks(self, x: torch.Tensor, gradient: bool):
        """L of x, and with `gradient` dL/dx in x.grad, block by block (Galerne et al. 2024).
        Pass 1, no gradient: every block's statistics, summed: the whole picture's. Then L of
        them, and dL/dS, its gradient with respect to each statistic. Pass 2: per block, its
        statistics again, now differentiable, backpropagated from dL/dS: by the chain rule the
        block's share of dL/dx, exact because its statistics are exactly the whole picture's
        share. The shares, added where they overlap, are dL/dx."""
        with torch.enable_grad() if gradient else torch.no_grad():
            xp = self.picture(x)  # the composite over the photo, if any: cheap, at full size
        hw = tuple(xp.shape[-2:])
        parts = tiles(*hw, self.block)
        stats = {}
        with torch.no_grad():
            for i, b in enumerate(parts):
                for k, v in self._statistics(self.features(b.read(xp.detach())), b, hw).items():
                    stats[k] = stats.get(k, 0) + v.float()
                self._told(1, i, len(parts))
        leaves = {k: v.detach().requires_grad_(gradient) for k, v in stats.items()}
        with torch.enable_grad() if gradient else torch.no_grad():
            L_vgg, Lc, Ls = self._loss_of(leaves)
            pixel = self._pixel_terms(xp)
        if not gradient:
            return (L_vgg + pixel), Lc, Ls
        keys = [k for k, v in leaves.items() if v.requires_grad]
        dS = dict(zip(keys, torch.autograd.grad(L_vgg, [leaves[k] for k in keys], allow_unused=True)))
        g = torch.zeros_like(xp)
        with torch.enable_grad():
            for b in parts:
                xb = b.read(xp.detach()).requires_grad_(True)
                s_b = self._statistics(self.features(xb), b, hw)
                used = [k for k in s_b if dS.get(k) is not None]
                torch.autograd.backward([s_b[k] for k in used], [dS[k] for k in used])
                t, bottom, left, right = b.outer
                g[..., t:bottom, left:right] += xb.grad
                self._told(2, parts.index(b), len(parts))
            # through the composite (if any) and the pixel terms to x
            ends = [(xp, g)] + [(pixel, torch.ones_like(pixel))] * pixel.requires_grad
            torch.autograd.backward([t for t, _ in ends], [d for _, d in ends])
        return (L_vgg + pixel).detach(), Lc.detach(), Ls.detach()

    def _told(self, stage: int, i: int, n: int) -> None:
        if self.on_block is not None:
            self.on_block(stage, i + 1, n)

    def _content_maps(self, content: torch.Tensor) -> dict:
        """P^l of the photo, computed once, without grad; by blocks for a large picture."""
        with torch.no_grad():
            if self.block is None:  # only as deep as the content layer: conv4_2 needs no block 5
                return {l: F.float() for l, F in self.features(content, self.content_layers).items()}
            hw = tuple(content.shape[-2:])
            maps = {}
            for b in tiles(*hw, self.block):
                for l, F in self.features(b.read(content), self.content_layers).items():
                    inner, (t, bottom, left, right) = b.inner_of(F, pools_before(l), hw)
                    if l not in maps:
                        h, w = map_hw(l, hw)
                        maps[l] = torch.zeros(1, F.shape[1], h, w, device=F.device)
                    maps[l][..., t:bottom, left:right] = inner.float()
            return maps

    def _grams(self, style: torch.Tensor) -> dict:
        """G^l of a painting at every style layer, without grad; by blocks for a large one."""
        with torch.no_grad():
            if self.block is None:
                return {l: gram(F) for l, F in self.features(style, self.style_layers).items()}
            hw, grams = tuple(style.shape[-2:]), {}
            for b in tiles(*hw, self.block):
                for l, F in self.features(b.read(style), self.style_layers).items():
                    grams[l] = grams.get(l, 0) + gram(b.inner_of(F, pools_before(l), hw)[0])
            return grams


def alpha_scale(size_hw) -> float:
    """What alpha is multiplied by at an image of size_hw: REF_AREA / (H W).

    The content loss is a sum over the M_l positions of a map while each E_l is normalised by
    M_l^2, so their balance shifts with the pixel count. alpha is the paper's at REF_AREA pixels
    (there L is exactly alpha L_content + beta L_style); scaling by the area, not by the long
    side, keeps that balance for every size, aspect and pyramid level."""
    h, w = size_hw
    return REF_AREA / (h * w)


def painting_grain(style: torch.Tensor, size_hw) -> float:
    """g (losses.grain) of a painting brought to a picture's pixel count, its own aspect kept:
    grain depends on the scale it is seen at, so picture and painting are compared at one."""
    h, w = style.shape[-2:]
    long_side = max(16, round(max(h, w) * math.sqrt(size_hw[0] * size_hw[1] / (h * w))))
    return grain(images.resize(style.float(), long_side)).item()


def map_hw(layer: str, size_hw) -> tuple[int, int]:
    """The map's size at this layer for a picture of size_hw: it halves (rounding down) at each
    pool before the layer."""
    h, w = size_hw
    for _ in range(pools_before(layer)):
        h, w = h // 2, w // 2
    return h, w


def map_area(layer: str, size_hw) -> int:
    """M_l of a picture of size_hw at this layer."""
    h, w = map_hw(layer, size_hw)
    return h * w


def net_width(layer: str) -> int:
    """N_l: VGG-19's filters at this layer (64, 128, 256, 512, 512 by block)."""
    return (64, 128, 256, 512, 512)[int(layer[4]) - 1]


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

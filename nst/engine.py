"""The optimisation: minimise alpha L_content + beta L_style over the pixels, coarse to fine.

`stylize()` is a generator of Frames. Closing it (or setting `cancel`) stops the work after the
current step; its `finally` drops every tensor it made.
"""
from __future__ import annotations

import contextlib
import math
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch
from PIL import Image

from . import images, machine, masks
from .controls import Controls
from .losses import content_loss, gram, guided_style_loss, style_loss, temporal_loss, total_loss, tv_loss
from .optim import make_optimizer
from .settings import DEFAULT_SIZE, DEFAULT_STEPS, LAYERS, Settings
from .vgg import load_vgg

# px: alpha is the paper's for a picture of this many pixels, a 3:2 photo at a 512 px long side
# (for 3:2 photos the same weight as when alpha followed the long side; other shapes now keep it)
REF_AREA = 512 * 512 * 2 // 3
COARSEST = 128  # px: the pyramid starts here (or at the output size if that is smaller)
FIRST_STEP = 32.0  # grey levels: how far L-BFGS's first step moves the steepest pixel
REPLAN_EVERY = 0.5  # s: under a deadline, the remaining steps are re-planned this often


@dataclass
class Frame:
    image: Image.Image  # RGB
    step: int  # steps done so far, over all levels
    total: int  # steps in all
    scale: int  # pyramid level, 0 = coarsest
    levels: int
    losses: dict  # 'content', 'style' (unweighted), 'total' (weighted, what is minimised)
    elapsed: float  # seconds since the run started
    done: bool = False
    info: dict = field(default_factory=dict)  # resolved device/precision/optimizer, level sizes
    steered: tuple = ()  # ((step, version), ...): live-control versions and the first step using each


# ---------------------------------------------------------------------------- pyramid
def plan_levels(size: int, steps: int, pyramid: bool = True, coarsest: int = COARSEST
                ) -> list[tuple[int, int]]:
    """[(long side, steps)] from coarse to fine. Each level halves the side down to `coarsest` and
    gets twice the steps of the next finer one: steps are spent where they are cheap, the fine
    levels only add detail to an already-painted picture."""
    if not pyramid or size < 2 * coarsest:
        return [(size, steps)]
    sizes = [size]
    while sizes[-1] // 2 >= coarsest:
        sizes.append(sizes[-1] // 2)
    sizes = sizes[::-1][-steps:]  # fewer steps than levels: keep the finest ones
    shares = [2.0 ** (len(sizes) - 1 - i) for i in range(len(sizes))]
    counts = [max(1, math.floor(steps * s / sum(shares))) for s in shares]
    counts[-1] = max(1, steps - sum(counts[:-1]))  # exact total, the finest level takes the rest
    while sum(counts) > steps and max(counts) > 1:  # tiny step counts: trim coarse levels first
        counts[counts.index(max(counts))] -= 1
    return list(zip(sizes, counts))


# ---------------------------------------------------------------------------- the run
# ---------------------------------------------------------------------------- stage 3: objective
class Objective:
    """One level's objective: the targets P^l (content) and A^l (style Grams), computed once
    without grad, and L = alpha L_content + beta L_style (+ TV) of an image x.

    Each painting's Gram targets are kept apart (A_each) and mixed by the blend, so steer() can
    re-mix them, re-weight the layers or move alpha/beta without recomputing any feature. With a
    `mask` (1, 1, H, W at this level's size) the style loss is the guided one of nst/masks.py."""

    def __init__(self, net, s: Settings, content, styles, blend, size_hw, autocast, fmt,
                 mask: torch.Tensor | None = None, temporal: list | None = None):
        self.net, self.s, self.autocast, self.fmt = net, s, autocast, fmt
        self.alpha_scale = alpha_scale(size_hw)
        self.alpha = s.content_weight * self.alpha_scale
        self.beta = s.style_weight
        self.content_layers = tuple(s.content_layers) if self.alpha > 0 else ()
        self.style_layers = style_layers = tuple(s.style_layers) if self.beta > 0 else ()
        w = s.layer_weights or [1.0 / max(1, len(s.style_layers))] * len(s.style_layers)
        self.layer_weights = dict(zip(style_layers, w))
        self.taps = tuple(dict.fromkeys(self.content_layers + style_layers))
        self.M = {l: self._m(l, size_hw) for l in style_layers}
        with torch.no_grad():
            # only as deep as the content layer: conv4_2 needs no block 5
            self.P = self.features(content, self.content_layers) if self.content_layers else {}
            self.P = {l: self.P[l].float() for l in self.content_layers}
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

    def _m(self, layer: str, size_hw) -> int:
        """M_l of the output at this layer: the map shrinks by 2 at each pool before it."""
        h, w = size_hw
        for _ in range(pools_before(layer)):
            h, w = h // 2, w // 2
        return h * w

    def features(self, x, taps=None):
        x = x.contiguous(memory_format=self.fmt)  # differentiable; x itself stays NCHW for L-BFGS
        with self.autocast():
            return self.net(x, taps or self.taps, self.s.pooling)

    def __call__(self, x):
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


def pools_before(layer: str) -> int:
    """How many 2x2 pools VGG-19 applies before `layer`: one per block before its own."""
    return int(layer[4]) - 1


def min_side(layers) -> int:
    """The smallest image side that still leaves a 1-px map at the deepest of `layers`: each of
    the pools before it halves the map (conv5_1 sits behind four pools, so 16 px)."""
    return 2 ** max(map(pools_before, layers), default=0)


def _at_least(x: torch.Tensor, long_side: int, short_min: int) -> torch.Tensor:
    """Resize to long_side, but never let the short side fall under short_min (aspect kept)."""
    h, w = x.shape[-2:]
    need = math.ceil(short_min * max(h, w) / min(h, w))
    return images.resize(x, max(long_side, need))


def _as_list(styles) -> list:
    return list(styles) if isinstance(styles, (list, tuple)) else [styles]


def _blend(s: Settings, n_styles: int) -> list[float]:
    """Style image weights, normalised to sum to 1 (equal when not given)."""
    w = s.style_blend or [1.0] * n_styles
    return [float(v) / sum(w) for v in w]


# ---------------------------------------------------------------------------- stage 1: level plan
def _layers_used(s: Settings) -> tuple:
    """The layers whose loss has a weight: only they limit how thin an image may be."""
    return (tuple(s.content_layers) if s.content_weight else ()) + \
        (tuple(s.style_layers) if s.style_weight else ())


def level_plan(content_size: tuple[int, int], s: Settings, coarsest: int = COARSEST
               ) -> list[tuple[int, int]]:
    """[(long side, steps)] this run will really take for a content image of `content_size`
    (w, h): s.levels as given, else plan_levels() without the levels too thin for the deepest
    layer (their steps go to the finest level). Raises ValueError when even the full size is too
    thin. `s` has its size and steps (see concrete())."""
    layers = _layers_used(s)
    short_min = min_side(layers)
    short_at = lambda long_side: min(images.fit_size(*content_size, long_side))  # noqa: E731
    if short_at(s.size) < short_min:
        raise ValueError(f"at size {s.size} the picture's short side would be {short_at(s.size)} px, "
                         f"but layer {max(layers, key=pools_before)} needs at least {short_min} px: "
                         f"use a larger size or a less elongated image")
    if s.levels:
        return [tuple(lv) for lv in s.levels]
    polish = _polish_steps(s)
    main = s.steps - polish
    levels = [lv for lv in plan_levels(s.size, main, s.pyramid, coarsest) if short_at(lv[0]) >= short_min]
    if sum(n for _, n in levels) < main:
        levels[-1] = (levels[-1][0], levels[-1][1] + main - sum(n for _, n in levels))
    return levels + [(s.size, polish)] * bool(polish)


def _polish_steps(s: Settings) -> int:
    """Steps of the final L-BFGS polish: only after Adam, and never all of the run."""
    if not s.polish:
        return 0
    return max(0, min(int(s.polish), s.steps - 1)) if machine.resolve(s)[2] == "adam" else 0


def optimizer_name(optimizers: list[str]) -> str:
    """What a level plan really runs, in one word: 'adam', 'lbfgs' or 'adam+lbfgs'."""
    kinds = {"adam" if o == "adam" else "lbfgs" for o in optimizers}
    return kinds.pop() if len(kinds) == 1 else "adam+lbfgs"


def concrete(s: Settings, content_size: tuple[int, int], sp=None, seconds: float | None = None,
             max_size: int = machine.LARGEST) -> tuple[Settings, "machine.Plan | None"]:
    """s with its size and steps filled in: given ones win; with a time budget (`seconds`, the
    time left for the steps) the machine's planner fills the others; else the defaults."""
    if s.levels:
        return s.replace(size=s.levels[-1][0], steps=sum(n for _, n in s.levels)), None
    if seconds is None or (s.size is not None and s.steps is not None):
        return s.replace(size=s.size or DEFAULT_SIZE, steps=s.steps or DEFAULT_STEPS), None
    p = machine.plan(s, content_size, seconds, sp, max_size=max_size)
    return s.replace(size=p.size, steps=p.steps), p


def level_optimizers(opt_name: str, n_levels: int, polish: bool) -> list[str]:
    """The optimizer of each level: 'adam', 'lbfgs' (with a line search: it may start from noise)
    or 'polish' (L-BFGS as the textbook runs it, after Adam has painted the picture): the
    explicit polish level after Adam, or the finest level of 'adam+lbfgs' (its only one, when the
    picture is too small for a pyramid: the sized first step makes the line search, which cost
    up to 20 evaluations a step and so could not be planned for, unnecessary)."""
    if opt_name == "adam+lbfgs":
        return ["adam"] * (n_levels - 1) + ["polish"]
    return [opt_name] * (n_levels - polish) + ["polish"] * polish


def level_images(content_full: torch.Tensor, style_full: list, long_side: int, s: Settings):
    """The content and style images for one level: resized, colours handled as s.colors says."""
    short_min = min_side(_layers_used(s))
    c = images.resize(content_full, long_side)
    st = [_at_least(im, round(long_side * s.style_scale), short_min) for im in style_full]
    if s.colors == "luminance":
        cy = images.luminance(c)
        st = [images.match_luminance(images.luminance(im), cy) for im in st]
        c = cy
    elif s.colors == "histogram":
        st = [images.match_histogram(im, c) for im in st]
    return c, st


# ---------------------------------------------------------------------------- stage 2: start image
def start_image(s: Settings, c: torch.Tensor, st: list, gen: torch.Generator,
                init_image: Image.Image | None = None, coarser: torch.Tensor | None = None):
    """Where a level starts: the coarser level's result upsampled, else `init_image`, else
    s.init: white noise (the paper), the content photo, or the (first) style image."""
    hw = tuple(c.shape[-2:])
    if coarser is not None:
        return images.resize_to(coarser.cpu(), hw)
    if init_image is not None:
        return images.resize_to(images.to_tensor(init_image), hw)
    if s.init == "noise":
        return torch.rand(1, 3, *hw, generator=gen) * 255
    if s.init == "style":
        return images.resize_to(st[0], hw)
    return c


# ---------------------------------------------------------------------------- stage 4: the loop
class _Descent:
    """Minimises one level's objective over the pixels x, one optimizer step per call, keeping
    the best image seen (the lowest total loss) with its losses, and the latest evaluated image
    with its own losses (`seen`): a frame always pairs a picture with the losses of that picture."""

    def __init__(self, objective: Objective, x0: torch.Tensor, opt_name: str, lr: float):
        self.objective, self.opt_name, self.lr = objective, opt_name, lr
        self.x = x0.clone().requires_grad_(True)
        self.opt = make_optimizer(opt_name, self.x, lr)
        self.best, self.best_loss, self.best_losses = self.x.detach().clone(), math.inf, {}
        self.seen, self.losses = self.best, {}  # the latest evaluated image and its losses
        self._last_eval = None  # (x, grad, loss) of the latest evaluation, for L-BFGS (below)

    def _record(self, x: torch.Tensor, L, Lc, Ls) -> float:
        v = L.item()
        if not math.isfinite(v):
            raise FloatingPointError("the loss became infinite or NaN; lower lr or the weights, "
                                     "or use precision='fp32'")
        self.seen = self.objective.picture(x.detach()).clone()
        self.losses = {"content": Lc.item(), "style": Ls.item(), "total": v}
        if v < self.best_loss:
            self.best_loss, self.best, self.best_losses = v, self.seen, self.losses
        return v

    def take_moments(self, coarser: "_Descent") -> None:
        """Adam to Adam across a pyramid level: start with the coarser level's moments, enlarged
        to this size (as crowsonkb's style-transfer-pytorch carries them), not from zero. Adam's
        step m/sqrt(v) is scale-free, so the gradients' other scale at this size does not matter."""
        old = coarser.opt.state.get(coarser.x)
        if self.opt_name != "adam" or coarser.opt_name != "adam" or not old:
            return
        hw = tuple(self.x.shape[-2:])
        grow = lambda t: torch.nn.functional.interpolate(t, size=hw, mode="bilinear")  # noqa: E731
        self.opt.state[self.x] = {"step": old["step"].clone(), "exp_avg": grow(old["exp_avg"]),
                                  "exp_avg_sq": grow(old["exp_avg_sq"]).clamp_min(0)}

    def finish(self) -> None:
        """Evaluate the level's last update (a step evaluates the picture *before* its update),
        so the final picture can be the best one and the next level can start from it."""
        if self._last_eval is not None and torch.equal(self.x, self._last_eval[0]):
            return  # L-BFGS already evaluated this very point
        with torch.no_grad():
            self._record(self.x, *self.objective(self.x))

    def _closure(self):
        x, last = self.x, self._last_eval
        if last is not None and torch.equal(x, last[0]):
            # L-BFGS re-evaluates, at the start of each step() call, the point its line search
            # just accepted: answer from memory instead of a second forward pass.
            x.grad = last[1].clone()
            return last[2]
        self.opt.zero_grad(set_to_none=True)
        L, Lc, Ls = self.objective(x)
        L.backward()
        self._record(x, L, Lc, Ls)
        if self.opt_name != "adam":
            self._last_eval = (x.detach().clone(), x.grad.clone(), L.detach())
        return L

    def objective_changed(self):
        """The objective was steered: losses from before cannot rank images or answer L-BFGS's
        re-evaluation any more. Adam keeps its moments (a change never restarts the run); L-BFGS
        drops its curvature pairs, which describe the old objective: kept, they sent the line
        search to NaN after a 1000x change of alpha/beta (measured, 32 px). It goes on from the
        same picture, its first step sized afresh."""
        self.best_loss, self.best_losses, self._last_eval = math.inf, {}, None
        if self.opt_name != "adam":
            self.opt = make_optimizer(self.opt_name, self.x, self.lr)

    def step(self):
        first_lbfgs = self.opt_name != "adam" and not self.opt.state
        if first_lbfgs:
            lr = self.opt.param_groups[0]["lr"]
            # torch's first L-BFGS step is lr/|g|_1 along -g: at these loss scales a change of
            # ~1e-10 grey levels, whose curvature pair is rounding noise, and the next step then
            # overflowed (measured: the polish at 48 px; the line search of 'lbfgs' at 512 px,
            # where 5 evaluations left the loss unchanged in fp32 and the sixth moved a pixel by
            # 5e5 grey levels). Size it instead to move the steepest pixel by FIRST_STEP grey
            # levels; the gradient evaluated here is reused by the step (see _closure).
            self._closure()
            g = self.x.grad
            self.opt.param_groups[0]["lr"] = lr * FIRST_STEP * max(1.0, g.abs().sum().item()) / \
                max(g.abs().max().item(), 1e-30)
        self.opt.step(self._closure)
        if first_lbfgs:
            self.opt.param_groups[0]["lr"] = lr  # then the textbook's full quasi-Newton steps
        if self.opt_name == "adam":  # L-BFGS is not clamped: it would spoil its curvature pairs
            with torch.no_grad():
                self.x.clamp_(0, 255)


class _Schedule:
    """The level plan [(side, steps)] and, under a deadline, its re-planning: before each step the
    steps left are scaled so that the predicted finish meets the deadline, predicted from the rate
    measured at this level and, for later levels, the machine's model scaled by how far this
    level's measured rate is off it. A budget may add steps (`grow`); a safety limit only cuts.
    Coarse levels give way first: the finest level always keeps at least one step, so a cut run
    still ends at full size."""

    def __init__(self, levels, optimizers, wh, sp, precision, deadline=None, grow=False):
        self.levels = [list(lv) for lv in levels]
        self.optimizers, self.wh, self.sp, self.precision = optimizers, wh, sp, precision
        self.deadline, self.grow = deadline, grow
        self.times: dict[int, list[float]] = {}  # level -> seconds of each step
        self.k = 1.0  # measured / modelled seconds per step, carried to later levels
        self.cut = False  # a limit (not a budget) took steps away

    @property
    def total(self) -> int:
        return sum(n for _, n in self.levels)

    def model(self, j: int) -> float:
        opt = "adam" if self.optimizers[j] == "adam" else "lbfgs"
        return self.sp.step(self.precision, opt, machine.side_pixels(self.wh, self.levels[j][0]))

    def rate(self, level: int) -> float | None:
        """Measured seconds per step at this level (the first step, which sets up kernels and
        targets, only while it is the only one)."""
        t = self.times.get(level, [])
        return statistics.median(t[1:][-5:]) if len(t) > 1 else (t[0] if t else None)

    def stepped(self, level: int, seconds: float) -> None:
        self.times.setdefault(level, []).append(seconds)

    def left(self, level: int, done_here: int) -> float:
        """Predicted seconds to the final frame."""
        if self.sp is None:  # no model: this level's rate, later levels dearer by their pixels
            r, side = self.rate(level) or 0.0, self.levels[level][0]
            return r * (self.levels[level][1] - done_here) + sum(
                r * n * (sz / side) ** 2 for sz, n in self.levels[level + 1:])
        here = self.rate(level) or self.model(level) * self.k
        later = range(level + 1, len(self.levels))
        return (here * (self.levels[level][1] - done_here) + 0.5 * self.model(-1) * self.k
                + sum((self.levels[j][1] + 1) * self.model(j) * self.k for j in later if self.levels[j][1]))

    def replan(self, level: int, done_here: int, now: float) -> None:
        if self.deadline is None or self.sp is None:
            return
        r = self.rate(level)
        if r is not None and len(self.times[level]) > 1:
            self.k = min(4.0, max(0.25, r / self.model(level)))
        here = r or self.model(level) * self.k
        later = range(level + 1, len(self.levels))
        fixed = 0.5 * self.model(-1) * self.k + sum(self.model(j) * self.k for j in later)
        var = here * (self.levels[level][1] - done_here) + sum(self.levels[j][1] * self.model(j) * self.k
                                                              for j in later)
        avail = self.deadline - now - fixed
        last = len(self.levels) - 1
        if var <= 0 and self.grow and level == last:
            # a budget's final level has run its plan (a slow start may have cut it to one step):
            # time left buys more steps at the rate measured here
            self.levels[level][1] = done_here + max(0, int(avail / here))
            return
        f = avail / var if var > 0 else 1.0
        if not self.grow:
            f = min(f, 1.0)
        if abs(f - 1) < 0.02:
            return
        self.cut = self.cut or not self.grow
        if later and avail < 2 * self.model(last) * self.k:
            # no time for the coarse levels: end this one now, go straight to one full-size step
            self.levels[level][1] = done_here
            for j in later:
                self.levels[j][1] = 1 if j == last else 0
            return
        self.levels[level][1] = done_here + max(0, round((self.levels[level][1] - done_here) * f))
        for j in later:
            self.levels[j][1] = max(1 if j == last else 0, round(self.levels[j][1] * f))
        if level == last:
            self.levels[level][1] = max(1, self.levels[level][1])


def stylize(content: Image.Image, styles: Image.Image | Sequence[Image.Image],
            settings: Settings | None = None, *, cancel: threading.Event | None = None,
            init_image: Image.Image | None = None, mask: Image.Image | None = None,
            controls: Controls | None = None, started: float | None = None, reserve: float = 0.0,
            limit: float | None = None, max_size: int = machine.LARGEST, full_frames: bool = False,
            temporal: list | None = None) -> Iterator[Frame]:
    """Paint `content` in the style of `styles`; yields Frames, the last with done=True and the
    best image (lowest total loss at the finest level). `cancel`, when set, ends the run after
    the current step with that final frame; closing the generator ends it with none.
    `init_image` (e.g. an earlier result, to refine it at a larger size) replaces settings.init
    as the starting picture; the content target stays `content`.
    `mask` (white = inside; resized with the photo) confines the style to a region, see
    nst/masks.py and settings.mask_mode. `controls` (nst/controls.py) are read before every step:
    moving alpha/beta, layer weights or the blend acts on the next step, with no restart.

    Time: with settings.seconds the final frame comes that many seconds after `started` (a
    time.perf_counter() value; default: now), less `reserve` (what the caller needs after it);
    the size and steps not given are planned for this machine (nst/machine.py) and the steps
    re-planned while it runs. `limit` (seconds from `started`) is a hard cap for any run: one
    that would overrun it is cut short, coarse levels first, and still ends at full size.
    `max_size` caps the size the planner may choose. `full_frames` shows every frame at the final
    size (coarse levels enlarged and, with a mask in mode 'inside', put over the full-size photo):
    a picture whose size never changes mid-run, and whose unmasked part is the photo in every frame.
    The final frame is never enlarged: a run stopped at a coarse level ends at that level's size.
    `temporal`, [(warped, reliability)] pairs of images of the photo's size, makes this a video
    frame (nst/video.py): the objective adds settings.temporal_weight x a temporal loss per pair.

    Stages: concrete() -> level_plan() -> per level: level_images(), start_image(), Objective(),
    _Descent, with _Schedule keeping the deadline."""
    started = time.perf_counter() if started is None else started
    s = settings or Settings()
    styles = _as_list(styles)
    if not styles:
        raise ValueError("at least one style image is needed")
    s.validate(n_styles=len(styles))
    if mask is not None:
        masks.check(mask, content.size, s.mask_mode, len(styles))
    if controls is not None:
        if not (s.content_weight > 0 and s.style_weight > 0):
            raise ValueError("live controls need content_weight > 0 and style_weight > 0: a loss "
                             "with weight 0 is never computed, so there would be nothing to steer")
        controls.bind(len(s.style_layers), len(styles))
    timed = s.seconds is not None or limit is not None
    device = machine.resolve_device(s.device)
    # measured now if the run needs it; else only refreshed (below) where a model exists
    sp = machine.speed(device, s.weights, measure=timed or s.precision == "auto")
    device, precision, opt_name = machine.resolve(s, sp)
    # a budget sets the deadline only where it plans the steps: given steps are a fixed length
    budgeted = s.seconds is not None and s.steps is None and not s.levels
    deadline = started + s.seconds - reserve if budgeted else None
    if limit is not None:
        deadline = min(deadline or math.inf, started + limit - reserve)
    budget = started + s.seconds - reserve - time.perf_counter() if s.seconds is not None else None
    s, plan = concrete(s, content.size, sp, budget, max_size)
    coarsest = machine.first_side(sp, precision, content.size, s.size) if plan else COARSEST
    channels_last = device.type in ("cpu", "cuda")
    net = load_vgg(s.weights, str(device), channels_last)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if precision == "bf16" \
        else contextlib.nullcontext
    blend = _blend(s, len(styles))
    levels = level_plan(content.size, s, coarsest)
    optimizers = level_optimizers(opt_name, len(levels), bool(_polish_steps(s)))
    schedule = _Schedule(levels, optimizers, content.size, sp, precision, deadline, grow=budgeted)
    full_hw = images.fit_size(*content.size, s.size)[::-1]
    flops = machine.flops_per_step(*full_hw, max(_layers_used(s), key=LAYERS.index))
    info = {"device": str(device), "precision": precision, "optimizer": optimizer_name(optimizers),
            "weights": s.weights, "optimizers": optimizers, "seconds": s.seconds, "seed": s.seed,
            "full_size": full_hw[::-1],  # (w, h) of the final picture: what a frame promises
            "flops_per_step": flops, "peak_flops": sp.peak_flops if sp else None,
            "polish": levels[-1][1] if optimizers[-1] == "polish" else 0}

    def frame(image, losses, step, level, done=False):
        now = time.perf_counter()
        lv = [tuple(x) for x in schedule.levels if x[1] or x is schedule.levels[-1]]
        rate = schedule.rate(level)
        taken = [(schedule.levels[j][0], len(t)) for j, t in sorted(schedule.times.items())]
        left = 0.0 if done else max(0.0, schedule.left(level, i + 1))
        if deadline is not None and not done:  # a budget's countdown is the deadline's own
            left = deadline - now if schedule.grow else min(left, deadline - now)
        at = dict(info, plan=lv, levels=[sz for sz, _ in lv], size=s.size, steps=schedule.total,
                  taken=taken, cut=schedule.cut, left=max(0.0, left),
                  deadline=None if deadline is None else deadline - started)
        if rate and level == len(schedule.levels) - 1:  # achieved rate at full size
            at["flops_per_s"] = flops / rate
            if sp and sp.peak_flops:
                at["mfu"] = flops / rate / sp.peak_flops
        # a run stopped at a coarse level ends at that level's size: no enlargement passed off as the result
        return Frame(_show(image if done else at_full_size(image), content_full, s), step, schedule.total, level, len(schedule.levels),
                     dict(losses), now - started, done=done, info=at, steered=tuple(steered))

    content_full = images.to_tensor(content)
    style_full = [images.to_tensor(im) for im in styles]
    mask_full = masks.to_mask(mask) if mask is not None else None
    temporal_full = [(images.to_tensor(w), masks.to_mask(c)) for w, c in temporal or ()]
    full = {}  # the photo and feathered mask at the final size, made at the first enlarged frame

    def at_full_size(x: torch.Tensor) -> torch.Tensor:
        if not full_frames or tuple(x.shape[-2:]) == full_hw:
            return x
        x = images.resize_to(x.detach().float().cpu(), full_hw)
        if mask_full is None or s.mask_mode != "inside":
            return x
        if not full:
            full["photo"] = level_images(content_full, [], s.size, s)[0]
            full["mask"] = masks.feathered(masks.resized(mask_full, full_hw))
        return masks.composite(x, full["photo"], full["mask"])

    steered, applied = [], 0  # control versions taken up, and the one the objective has
    gen = torch.Generator().manual_seed(s.seed)
    descent = objective = None
    step = i = level = 0
    stopping = False
    try:
        for level, (long_side, _) in enumerate(levels):
            last_level = level == len(schedule.levels) - 1
            if not schedule.levels[level][1] and not last_level:
                continue  # re-planned away: no time for this coarse level
            polishing = optimizers[level] == "polish"  # fp32 L-BFGS after Adam: no autocast
            c, st = level_images(content_full, style_full, long_side, s)
            hw = tuple(c.shape[-2:])
            m = masks.resized(mask_full, hw).to(device) if mask_full is not None else None
            tl = [(images.resize_to(w, hw).to(device), masks.resized(c, hw).to(device)) for w, c in temporal_full]
            objective = Objective(net, s, c.to(device), [im.to(device) for im in st], blend,
                                  hw, contextlib.nullcontext if polishing else autocast, fmt,
                                  mask=m, temporal=tl)
            x0 = start_image(s, c, st, gen, init_image, descent.best if descent else None)
            coarser, descent = descent, _Descent(objective, x0.to(device), optimizers[level], s.lr)
            if s.carry_moments and coarser is not None:
                descent.take_moments(coarser)
            applied = 0  # a new level's objective starts from the Settings
            last_frame = time.perf_counter()
            i = 0
            while i < schedule.levels[level][1]:
                if controls is not None:  # read once per step, before it
                    version, values = controls.read()
                    if version != applied:
                        objective.steer(**values)
                        descent.objective_changed()
                        if not steered or steered[-1][1] != version:
                            steered.append((step + 1, version))
                        applied = version
                t = time.perf_counter()
                descent.step()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                now = time.perf_counter()
                schedule.stepped(level, now - t)
                schedule.replan(level, i + 1, now)
                step += 1
                stopping = cancel is not None and cancel.is_set()
                due = step % s.frame_every == 0 or s.frame_seconds is not None and (
                    step == 1 or now - last_frame >= s.frame_seconds)  # timed frames: one at once
                at_end = i + 1 >= schedule.levels[level][1]
                if stopping or (at_end and last_level):
                    break
                if due or at_end:
                    last_frame = now
                    yield frame(descent.seen, descent.losses, step, level)
                i += 1
            if stopping:
                break
            descent.finish()
        if sp is not None and mask is None and _layers_used(s) and \
                max(_layers_used(s), key=LAYERS.index) == "conv5_1":
            _observe(sp, schedule, precision, content.size)
        # the final frame: the best image seen at the last level reached, with its own losses
        yield frame(descent.best, descent.best_losses or descent.losses, step, level, done=True)
    finally:
        descent = objective = None  # noqa: F841 (drop references so memory returns now)
        if device.type == "cuda":
            torch.cuda.empty_cache()


def _observe(sp, schedule: _Schedule, precision: str, wh) -> None:
    """A real run refreshes this machine's speed model with the rates it measured (not a
    panorama's: a thin picture costs more per pixel and would skew the model for the rest)."""
    if max(wh) > 2.5 * min(wh):
        return
    for level, times in schedule.times.items():
        if len(times) >= 4:
            opt = "adam" if schedule.optimizers[level] == "adam" else "lbfgs"
            machine.observe(sp, precision, opt, machine.side_pixels(wh, schedule.levels[level][0]),
                            statistics.median(times[1:]))


def _show(x: torch.Tensor, content_full: torch.Tensor, s: Settings):
    """The picture a visitor sees: in luminance mode the content's chroma is put back."""
    x = x.detach().float().cpu()
    if s.colors == "luminance":
        x = images.with_chroma_of(x, images.resize_to(content_full, tuple(x.shape[-2:])))
    return images.to_pil(x)


def paper_losses(image, content: Image.Image, styles, settings: Settings | None = None):
    """The paper's unweighted L_content and L_style of `image` against `content` and `styles`, in
    fp32 at image's size with the settings' layers and weights: a yardstick for comparing runs
    (e.g. the output's style loss against the content photo's own). A list of images of one size
    gives a list of dicts, the targets computed once."""
    if isinstance(image, (list, tuple)):
        return [paper_losses(im, content, styles, settings) for im in image] if len(
            {im.size for im in image}) > 1 else _paper_losses(image, content, styles, settings)
    return _paper_losses([image], content, styles, settings)[0]


def _paper_losses(pictures: list, content: Image.Image, styles, settings: Settings | None) -> list[dict]:
    s = (settings or Settings()).replace(precision="fp32", optimizer="adam")
    styles = _as_list(styles)
    s.validate(n_styles=len(styles))
    device = machine.resolve_device(s.device)
    net = load_vgg(s.weights, str(device), False)
    hw = pictures[0].size[::-1]
    c = images.resize_to(images.to_tensor(content), hw).to(device)
    short_min = min_side(tuple(s.content_layers) + tuple(s.style_layers))
    st = [_at_least(images.to_tensor(im), round(max(hw) * s.style_scale), short_min).to(device)
          for im in styles]
    objective = Objective(net, s, c, st, _blend(s, len(styles)), hw,
                          contextlib.nullcontext, torch.contiguous_format)
    out = []
    with torch.no_grad():
        for image in pictures:
            _, Lc, Ls = objective(images.to_tensor(image).to(device))
            out.append({"content": Lc.item(), "style": Ls.item()})
    return out


def run(content, styles, settings: Settings | None = None, **kw) -> Frame:
    """Run to the end and return the final frame (one call, one image)."""
    frame = None
    for frame in stylize(content, styles, settings, **kw):
        pass
    return frame

"""Settings for one style-transfer run: a plain dataclass, validated in one place."""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields, replace

# The paper's layer names for the 16 conv layers of VGG-19 (block_index, conv_index).
LAYERS = tuple(
    f"conv{b}_{c}" for b, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)) for c in range(1, n + 1)
)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_LAYERS = ("conv4_2",)

OPTIMIZERS = ("auto", "adam", "lbfgs", "adam+lbfgs")  # adam+lbfgs: Adam at the coarse levels, L-BFGS
# at full size (both in the run's arithmetic)
INITS = ("noise", "content", "style", "palette")  # palette: the photo in the painting's colours
BASES = ("auto", "pixels", "pyramid")  # what the steps move (nst/basis.py); auto: the pyramid
# for Adam in bf16 (measured ahead there), the pixels otherwise
SCALINGS = ("auto", "scalar", "diagonal")  # L-BFGS's H_0: the textbook's gamma I, or each pixel's
# own scale from the first step (nst.optim.LBFGS); auto: diagonal after a level's first
# levels.DIAGONAL_FROM steps in bf16, where it was measured ahead, the scalar in fp32
POOLINGS = ("avg", "max")
COLORS = ("style", "luminance", "histogram")
PRECISIONS = ("auto", "fp32", "bf16")
MASK_MODES = ("inside", "split")  # with a mask: style inside only | painting 1 inside, 2 outside

MIN_SIZE, MAX_SIZE = 16, 16384  # px, long side: print sizes are painted by blocks
MAX_STEPS = 100_000
DEFAULT_SIZE, DEFAULT_STEPS = 256, 200  # a run with neither a budget nor these given
# The presets are time budgets, the same on every device: seconds from the click (the app) or
# from process start (the CLI). What size and how many steps they buy is planned per machine
# by nst/budget.py, from its measured speed (nst/speed.py).
PRESETS = {"quick": 15.0, "balanced": 45.0, "best": 120.0}


@dataclass(frozen=True)
class Limits:
    """Caps on what one run may ask for. The library's own bounds by default; a server passes
    tighter ones (what one visitor may ask of a shared machine) to Settings.validate."""

    min_size: int = MIN_SIZE  # px, long side
    max_size: int = MAX_SIZE
    max_steps: int = MAX_STEPS
    lr: tuple = (0.0, float("inf"))  # Adam step, exclusive low end
    ratio: tuple = (0.0, float("inf"))  # alpha/beta
    style_scale: tuple = (0.05, 4.0)
    max_tv_weight: float = float("inf")
    max_layer_weight: float = float("inf")  # each w_l
    max_blend: float = float("inf")  # each style image's weight
    max_seed: int = 2**63 - 1
    max_seconds: float = 24 * 3600.0  # a time budget


def default_weights() -> str:
    return os.environ.get("NST_WEIGHTS") or "vgg19"


@dataclass
class Settings:
    """Everything a run needs besides the images. Names follow Gatys et al. (2015).

    content_weight / style_weight are the paper's alpha and beta; only their ratio matters
    (alpha/beta = 1e-3 ... 1e-4 in the paper). layer_weights are the w_l of the style loss
    (None: equal, 1/len(style_layers)). style_blend weighs several style images (None: equal).
    """

    size: int | None = None  # long side of the output, px (None: planned for `seconds`, else 256)
    steps: int | None = None  # steps in all, shared out over the pyramid levels (None: fitted
    # into `seconds`, else 200). Given steps make a fixed-length run, the same pixels for a seed.
    seconds: float | None = None  # time budget: the final frame comes this many seconds after
    # the start, the size and steps not given planned for this machine (nst/budget.py)
    levels: tuple | None = None  # ((long side, steps), ...) coarse to fine: a run's exact level
    # plan, as its final frame reports it (info['plan']), to repeat that run exactly
    seed: int = 0
    optimizer: str = "auto"  # 'adam' | 'lbfgs' | 'adam+lbfgs' | 'auto': Adam at the coarse pyramid
    # levels and L-BFGS at full size (L-BFGS alone without a pyramid); in bf16 L-BFGS has no line search
    lr: float = 8.0  # Adam step, 0..255 px units: within 2% of 16 on the paper's objective,
    # and steadier where the picture should stay put (16 shook a masked-out region twice as much)
    carry_moments: bool = False  # Adam's moments carried, enlarged, from each pyramid level to
    # the next instead of restarting from zero (bench/quality.py --methods measures it)
    basis: str = "auto"  # what the steps move: 'pixels', or 'pyramid', a Laplacian pyramid's
    # coefficients (each band moved by its own share of the gradient: the coarse structure at once,
    # so a run needs no coarse-to-fine levels but a short first one); 'auto': see BASES
    detail: bool | None = None  # a finer level starts from the coarser one's change laid onto the
    # photo's own detail, not from its blurred enlargement (with init 'content' or 'palette');
    # None: where it was measured best (levels.start_of)
    lbfgs_scaling: str = "auto"  # L-BFGS's H_0: 'scalar' (the textbook's) | 'diagonal'; see SCALINGS
    polish: int = 0  # of the steps, how many L-BFGS takes at full size after Adam (only
    # with optimizer 'adam': 'auto' gives the whole full-size level to L-BFGS already)
    init: str = "content"  # 'noise' (the paper) | 'content' | 'style' | 'palette' (the photo with
    # the painting's colour mean and covariance)
    pooling: str = "avg"  # the paper replaces max pooling by average pooling
    content_weight: float = 1.0  # alpha
    style_weight: float = 1e3  # beta; alpha/beta = 1e-3
    content_layers: tuple = CONTENT_LAYERS
    style_layers: tuple = STYLE_LAYERS
    layer_weights: tuple | None = None  # w_l per style layer
    style_blend: tuple | None = None  # weight per style image
    style_scale: float = 1.0  # style image long side relative to the output's
    tv_weight: float = 0.0  # total-variation smoothness
    grain: float | None = 1.0  # the picture's grain (mean |difference| of neighbouring pixels) held
    # to at most this many times the painting's own at the same pixel count; None or 0: no cap,
    # the paper's objective alone (Adam's steps otherwise leave a pixel-level crackle the painting lacks)
    temporal_weight: float = 1e4  # gamma of a video frame's temporal loss (nst/video.py), per
    # pixel: the objective weighs it gamma D (D = 3 H W), so its pull on a pixel is the same at any size
    pyramid: bool = True  # coarse-to-fine; False = a single scale
    colors: str = "style"  # 'style' | 'luminance' | 'histogram'
    mask_mode: str = "inside"  # used with stylize(mask=...): see MASK_MODES
    device: str = "auto"
    precision: str = "auto"  # 'auto' | 'fp32' | 'bf16'
    weights: str = field(default_factory=default_weights)
    max_memory: float | None = None  # bytes a run may take (None: $NST_MAX_MEMORY, else most of what
    # is free); a picture whose whole activations would not fit is evaluated by blocks
    frame_every: int = 10  # yield a frame every k steps ...
    frame_seconds: float | None = None  # ... and/or at least every t seconds

    @property
    def ratio(self) -> float:
        """alpha / beta."""
        return self.content_weight / self.style_weight if self.style_weight else float("inf")

    def replace(self, **changes) -> "Settings":
        return replace(self, **changes)

    def fixed(self, levels) -> dict:
        """These settings as plain values (JSON's, torch.save's) with `levels` [(long side, steps)]
        as a fixed plan and no budget: what repeats a run, or goes on with one, exactly."""
        levels = [list(lv) for lv in levels]
        return {**asdict(self), "levels": levels, "size": levels[-1][0], "steps": sum(n for _, n in levels),
                "seconds": None}

    @classmethod
    def from_values(cls, values: dict) -> "Settings":
        """Settings from plain values (fixed()'s, read back): lists made tuples again, names this
        version does not know left out."""
        known = set(field_names())
        return cls(**{k: tuple(map(tuple, v)) if k == "levels" else tuple(v) if isinstance(v, list) else v
                      for k, v in values.items() if k in known})

    def validate(self, n_styles: int = 1, limits: Limits | None = None) -> "Settings":
        """Raise ValueError with one readable sentence for the first bad setting: every rule a
        run must obey, within `limits` (a server's caps; default: the library's own bounds)."""
        lim = limits or Limits()

        def need(ok, msg):
            if not ok:
                raise ValueError(msg)

        def number(name, lo=0.0, hi=float("inf"), low_open=False):
            v = getattr(self, name)
            need(_finite(v) and (v > lo if low_open else v >= lo),
                 f"{name} must be a finite number {'>' if low_open else '>='} {lo:g}, got {v!r}")
            need(v <= hi, f"{name} must be at most {hi:g}, got {v:g}")

        def whole(name, lo, hi, what=""):
            v = getattr(self, name)
            need(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
                 f"{name} must be {what}from {lo} to {hi}, got {v!r}")

        if self.size is not None:
            whole("size", max(MIN_SIZE, lim.min_size), min(MAX_SIZE, lim.max_size), "a whole number of pixels ")
        if self.steps is not None:
            whole("steps", 1, min(MAX_STEPS, lim.max_steps))
        if self.seconds is not None:
            number("seconds", 0, lim.max_seconds, low_open=True)
        if self.levels is not None:
            self._validate_levels(need, lim)
        whole("seed", 0, lim.max_seed, "a whole number ")
        for name, allowed in (("optimizer", OPTIMIZERS), ("init", INITS), ("basis", BASES), ("pooling", POOLINGS),
                              ("lbfgs_scaling", SCALINGS),
                              ("colors", COLORS), ("precision", PRECISIONS),
                              ("mask_mode", MASK_MODES)):
            need(getattr(self, name) in allowed,
                 f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        need(self.detail in (None, True, False), f"detail must be True, False or None; got {self.detail!r}")
        number("lr", *lim.lr, low_open=lim.lr[0] == 0)
        number("content_weight")
        number("style_weight")
        need(self.content_weight > 0 or self.style_weight > 0,
             "content_weight and style_weight cannot both be 0")
        if self.content_weight and self.style_weight:
            lo, hi = lim.ratio
            need(lo <= self.ratio <= hi,
                 f"ratio (alpha/beta) must be from {lo:g} to {hi:g}, got {self.ratio:g}")
        number("tv_weight", 0, lim.max_tv_weight)
        if self.grain is not None:
            number("grain")
        number("temporal_weight")
        number("style_scale", *lim.style_scale)
        for name in ("content_layers", "style_layers"):
            layers = tuple(getattr(self, name))
            bad = [l for l in layers if l not in LAYERS]
            need(not bad, f"unknown layer {bad[0]!r} in {name}; VGG-19 layers are "
                          f"{', '.join(LAYERS)}" if bad else "")
        need(self.content_layers or self.style_layers, "at least one content or style layer is needed")
        need(self.style_layers or not self.style_weight,
             "give at least one style layer (conv1_1 ... conv5_1) a weight above 0")
        if self.layer_weights is not None:
            need(len(self.layer_weights) == len(self.style_layers),
                 f"layer_weights has {len(self.layer_weights)} values for "
                 f"{len(self.style_layers)} style layers")
            need(all(_finite(w) and 0 <= w <= lim.max_layer_weight for w in self.layer_weights),
                 f"layer_weights must be from 0 to {lim.max_layer_weight:g}, got {list(self.layer_weights)}")
            need(any(w > 0 for w in self.layer_weights) or not self.style_weight,
                 "layer_weights are all 0: give at least one style layer a weight above 0")
        if self.style_blend is not None:
            need(len(self.style_blend) == n_styles,
                 f"style_blend has {len(self.style_blend)} weights for {n_styles} style images")
            need(all(_finite(w) and 0 <= w <= lim.max_blend for w in self.style_blend)
                 and sum(self.style_blend) > 0,
                 f"style_blend weights must be from 0 to {lim.max_blend:g} and not all 0, "
                 f"got {list(self.style_blend)}")
        whole("polish", 0, (self.steps or MAX_STEPS) - 1, "a whole number of final L-BFGS steps ")
        if self.max_memory is not None:
            number("max_memory", 2**24)
        need(isinstance(self.frame_every, int) and self.frame_every >= 1, "frame_every must be >= 1")
        need(self.frame_seconds is None or self.frame_seconds > 0, "frame_seconds must be > 0")
        return self


    def _validate_levels(self, need, lim: Limits) -> None:
        """validate()'s rules for a fixed level plan: whole (side, steps) pairs, coarse to fine,
        within the limits, ending at the size and adding up to the steps given."""
        lv = self.levels
        need(isinstance(lv, (tuple, list)) and lv and all(
            isinstance(x, (tuple, list)) and len(x) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in x) for x in lv),
            "levels must be (long side, steps) pairs of whole numbers, coarse to fine")
        need(all(MIN_SIZE <= sz <= min(MAX_SIZE, lim.max_size) and 0 <= n <= lim.max_steps
                 for sz, n in lv) and lv[-1][1] >= 1 and list(lv) == sorted(lv, key=lambda x: x[0]),
             f"levels must grow from coarse to fine, each side from {MIN_SIZE} to "
             f"{min(MAX_SIZE, lim.max_size)} px, and the finest needs a step")
        need(self.size in (None, lv[-1][0]) and self.steps in (None, sum(n for _, n in lv)),
             "levels must end at the size and add up to the steps given")
        need(sum(n for _, n in lv) <= lim.max_steps, f"levels add up to more than {lim.max_steps} steps")


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def field_names() -> list[str]:
    return [f.name for f in fields(Settings)]


def preset(name: str, **overrides) -> Settings:
    """Settings for a named preset ('quick' | 'balanced' | 'best'): its time budget (PRESETS);
    explicit overrides (a size, steps) win over what the budget would plan."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return Settings(seconds=PRESETS[name], **overrides)

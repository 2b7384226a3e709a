"""The machine policy: which arithmetic and optimizer, and what size and how many steps fit a
visitor's time budget on *this* machine, decided from its measured speed (nst/speed.py); then,
while a run paints, the schedule that keeps its deadline. Asked by the engine, never asking it.
"""
from __future__ import annotations

import math
import os
import re
import statistics
import time
from dataclasses import dataclass

import torch

from .blocks import MARGIN, tiles
from .levels import (COARSEST, level_optimizers, level_plan, plan_levels, polish_steps, resolve_basis, resolve_scaling,
                     start_of)
from .settings import DEFAULT_SIZE, DEFAULT_STEPS, Settings
from .speed import Speed, free_memory, measured, observe, resolve_device

GRID = 32  # planned sizes are multiples of this
SMALLEST, LARGEST = 128, 4096  # px, long side the planner may choose (callers cap it lower)
# Steps a picture needs, in full-size equivalents (a pyramid level of a quarter the pixels counts
# a quarter), at 256 x 256 px, and the power of (pixels / 256^2) they grow by: a finer picture has
# more detail to settle. Per method (precision/optimizer/basis, the most specific known), set by
# measuring which size ends lowest at a deadline (`bench/quality.py --sweep`,
# docs/design/time-budgets.md). In bf16 the growth is steep: a longer budget buys steps first and
# size slowly, since the larger pictures ended higher on the paper's objective (bench/README.md).
# For L-BFGS at full size, in either arithmetic, the need is a wall at the judge's long side,
# 512 px, whatever the shape up to 2:1 (BY_SIDE: it counts side^2, not pixels; a panorama counts
# twice its pixels, so that it is not held to a sliver): a few steps there, 4 at 512 px, 152 at
# 544 px. In fp32 on the AVX2 EPYC its 512 px pictures ended lowest at 15, 45 and 120 s alike,
# with 4 full-size steps at 15 s (448 px: 7 % higher; 544 px at 45 s: 14 % higher; 672 px at 2 min:
# 84 % higher). In bf16 its 2 min 576 px pictures ended 27 % higher on the 512 px judge than its
# 45 s 512 px ones (AMX Xeon), and at 45 s 512 px with 39-61 steps ended 13-25 % lower than 480 px
# with 42-70 on three pairs of three (Zen 4 EPYC).
WALL_AT_512 = (4.0 / 2.0**60, 30.0)
NEED = {"adam": (11.0, 0.9), "adam+lbfgs": (7.0, 0.9), "lbfgs": (7.0, 0.9),
        "fp32/adam+lbfgs": WALL_AT_512, "bf16/adam+lbfgs": WALL_AT_512, "bf16/lbfgs": WALL_AT_512,
        "bf16/adam": (1.0, 3.7), "bf16/adam/pyramid": (6.0, 3.0)}
BY_SIDE = {"fp32/adam+lbfgs", "bf16/adam+lbfgs", "bf16/lbfgs"}
LEAST_STEPS = 4.0  # full-size-equivalent steps any planned picture gets, however steep its wall
FIRST_FRAME = 0.6  # s: the first level is sized so that its set-up and first step take this
BF16_GAIN = 1.15  # bf16 must be measured this much faster than fp32 to be chosen
OVERRUN = 1.1  # a budget's tolerance: a given size or steps predicted to need more is refused


# ---------------------------------------------------------------------------- choosing
def bf16_faster(sp: Speed, pixels: float = 256 * 256) -> bool:
    """Was bf16 measured faster than fp32 here, by a margin worth its noise? Decided by the
    calibration's own timings of the two, side by side on a quiet machine, where it has them:
    the curves are refreshed by real runs, in whatever precision each took and under whatever
    else the machine was doing (a page streaming frames slows its own steps), so two curves
    need not have been measured alike."""
    if "bf16/adam" not in sp.curves:
        return False
    side = max((int(k.split("@")[1]) for k in sp.measured if k.startswith("bf16/adam@")), default=0)
    if side and f"fp32/adam@{side}" in sp.measured:
        return sp.measured[f"fp32/adam@{side}"] >= BF16_GAIN * sp.measured[f"bf16/adam@{side}"]
    return sp.step("fp32", "adam", pixels) >= BF16_GAIN * sp.step("bf16", "adam", pixels)


def resolve(settings: Settings, sp: Speed | None = None) -> tuple[torch.device, str, str]:
    """(device, precision, optimizer) after 'auto'.

    precision 'auto' takes bf16 only where this machine's calibration measured it faster than
    fp32. optimizer 'auto' then takes what reached the paper's objective soonest
    (docs/design/time-budgets.md, bench/README.md): 'adam+lbfgs', Adam at the cheap coarse levels
    and L-BFGS at full size (in bf16 without a line search, the coarse levels only a short
    start); one level alone: L-BFGS."""
    device = resolve_device(settings.device)
    opt, prec = settings.optimizer, settings.precision
    if prec == "auto":
        prec = "bf16" if bf16_faster(sp or measured(device, settings.weights)) else "fp32"
    if opt == "auto":
        opt = "adam+lbfgs" if settings.pyramid else "lbfgs"
    return device, prec, opt


def side_wh(wh: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(w, h) of a picture of aspect wh painted at long_side."""
    s = long_side / max(wh)
    return max(1, round(wh[0] * s)), max(1, round(wh[1] * s))


def side_pixels(wh: tuple[int, int], long_side: int) -> int:
    """Pixels of a picture of aspect wh painted at long_side."""
    w, h = side_wh(wh, long_side)
    return w * h


def most(fits, least: int = 1) -> int:
    """The largest n >= least with fits(n), for a fits() true up to some n and false past it
    (fits(least) is taken as true): doubling, then bisecting."""
    lo, hi = least, 2 * least
    while fits(hi) and hi < 100_000:
        lo, hi = hi, hi * 2
    while lo < hi - 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def need_steps(optimizer: str, pixels: float, precision: str = "fp32", basis: str = "pixels",
               side: int | None = None) -> float:
    """Full-size-equivalent steps a picture of this many pixels (and this long side) needs (see
    NEED and BY_SIDE)."""
    keys = (f"{precision}/{optimizer}/{basis}", f"{precision}/{optimizer}", optimizer, "adam")
    key = next(key for key in keys if key in NEED)
    k, power = NEED[key]
    if key in BY_SIDE and side is not None:
        pixels = min(side * side, 2 * pixels)
    return max(LEAST_STEPS, k * (pixels / 256**2) ** power)


@dataclass
class Plan:
    """What a budget buys on this machine: the size, the steps, the arithmetic, the optimizer,
    and the seconds the model predicts."""

    size: int
    steps: int
    precision: str
    optimizer: str
    seconds: float  # predicted wall time of the steps
    budget: float | None = None


def cost(sp: Speed, precision: str, optimizer: str, wh, levels, memory: float | None = None) -> float:
    """Predicted seconds of a level plan [(long side, steps)]: each level's steps at its pixels,
    plus its set-up (targets: about one step's forward passes); a level too large for `memory`
    bytes as a blocked level costs."""
    opts = level_optimizers(optimizer, len(levels), False, precision)
    total = 0.0
    for (side, n), opt in zip(levels, opts):
        try:
            block = plan_memory(sp, precision, opt, wh, side, memory)[0]
        except ValueError:  # not even in blocks: no plan at this size
            return math.inf
        total += (n + 1) * sp.step(precision, opt, side_pixels(wh, side)) * block_factor(wh, side, block)
    return total


def block_factor(wh, side: int, block: int | None) -> float:
    """A blocked step's seconds over a whole step's: BLOCK_PASSES, for the pixels the blocks read
    (their margins overlap)."""
    if block is None:
        return 1.0
    w, h = side_wh(wh, side)
    read = sum((b.outer[1] - b.outer[0]) * (b.outer[3] - b.outer[2]) for b in tiles(h, w, block))
    return BLOCK_PASSES * read / (w * h)


def plan(settings: Settings, wh: tuple[int, int], seconds: float, sp: Speed | None = None,
         max_size: int = LARGEST, memory: float | None = None) -> Plan:
    """The size and steps that fill `seconds` on this machine for a photo of size wh: the largest
    size (a multiple of GRID, at most max_size) at which the picture still gets the steps it needs
    (need_steps), then as many steps as the budget holds. A size or steps given in `settings` is
    kept: steps fixed, the size is the largest that fits them; size fixed, the steps fit. With
    `memory` (bytes) the levels too large for it are costed as blocked levels."""
    sp = sp or measured(settings.device, settings.weights)
    _, precision, optimizer = resolve(settings, sp)
    basis = resolve_basis(settings.basis, precision, optimizer)
    short = start_of(basis, precision, optimizer).short

    def levels(side, n):
        return plan_levels(side, n, settings.pyramid, first_side(sp, precision, wh, side), short)

    def fits(side, n) -> bool:
        return cost(sp, precision, optimizer, wh, levels(side, n), memory) <= seconds

    def fit_steps(side) -> int:  # the most steps whose plan fits: cost grows with steps
        return most(lambda n: fits(side, n))

    def equivalent(side, n) -> float:  # full-size-equivalent steps of a plan
        full = side_pixels(wh, side)
        return sum(k * side_pixels(wh, s) / full for s, k in levels(side, n))

    top = max(GRID, min(max_size, LARGEST))
    sizes = list(range(top - top % GRID, SMALLEST - 1, -GRID)) or [top]
    size = settings.size
    if size is None:
        size = sizes[-1]
        for side in sizes:  # largest first
            if settings.steps:
                ok = fits(side, settings.steps)
            else:
                ok = equivalent(side, fit_steps(side)) >= need_steps(optimizer, side_pixels(wh, side), precision, basis, side)
            if ok:
                size = side
                break
    steps = settings.steps or fit_steps(size)
    return Plan(size, steps, precision, optimizer,
                cost(sp, precision, optimizer, wh, levels(size, steps), memory), seconds)


def check_budget(settings: Settings, wh: tuple[int, int], sp: Speed | None = None, *,
                 seconds: float | None = None, max_size: int = LARGEST, measure: bool = True) -> None:
    """Refuse in words a size, or a number of steps, given with a budget that cannot hold it on
    this machine: even the least plan around it (one step at that size; those steps at the
    smallest size), predicted from the measured speed, would end after OVERRUN x the budget.
    `seconds`: what the steps may take (default the whole budget; the CLI takes off its own start
    and finish). The budget plans both, or neither is given: nothing to check. No model
    (measure=False and none measured yet): nothing is said."""
    s = settings
    if s.seconds is None or s.levels or (s.size is None) == (s.steps is None):
        return
    sp = sp or measured(s.device, s.weights, measure=measure)
    if sp is None:
        return
    seconds = s.seconds if seconds is None else seconds
    p = plan(s, wh, seconds, sp, max_size=max_size)
    predicted = p.seconds + s.seconds - seconds
    if predicted <= OVERRUN * s.seconds:
        return
    if s.size is not None:
        said = (f"{s.seconds:g} s cannot hold a {s.size} px picture in {p.precision} on this "
                f"machine: even one step is predicted to end after about {predicted:.0f} s. Give "
                f"more seconds or a smaller size, or leave the size to the budget")
    else:
        said = (f"{s.steps} steps do not fit in {s.seconds:g} s on this machine, even at "
                f"{p.size} px: about {predicted:.0f} s predicted. Give fewer steps or more seconds, "
                f"or leave the steps to the budget")
    if p.precision == "bf16" and not bf16_faster(sp):
        said += " (bf16 was measured slower than fp32 here: precision auto would take fp32)"
    raise ValueError(said + ".")


def check_clip(settings: Settings, wh: tuple[int, int], frames: int, seconds: float, sp: Speed | None = None,
               *, measure: bool = True) -> None:
    """Refuse in words a clip size that its budget cannot hold on this machine: every frame needs
    at least one step at that size (and its targets), and that alone, predicted from the measured
    speed, would end after OVERRUN x `seconds`. No size given: the budget chooses it."""
    s = settings
    if s.size is None:
        return
    sp = sp or measured(s.device, s.weights, measure=measure)
    if sp is None:
        return
    _, precision, optimizer = resolve(s.replace(pyramid=False), sp)  # later frames: one scale
    predicted = frames * cost(sp, precision, optimizer, wh, [(s.size, 1)])
    if predicted > OVERRUN * seconds:
        raise ValueError(f"{seconds:g} s cannot hold {frames} frames at {s.size} px on this machine: even one "
                         f"step a frame is predicted to take about {predicted:.0f} s. Give more seconds, a "
                         f"smaller size or a shorter clip, or leave the size to the budget.")


def first_side(sp: Speed, precision: str, wh, size: int) -> int:
    """The least long side of the pyramid's coarsest level (plan_levels halves the size while it
    stays at or above this, so the coarsest level lies between it and twice it): about the pixels
    of a 3:2 photo at 90-128 px (a panorama gets a longer side for the same cost, not a sliver),
    or fewer on a machine too slow to show a first frame within FIRST_FRAME there (set-up, about
    two steps' worth, plus the first step)."""
    w, h = wh
    side = max(64, round(math.sqrt(128 * 85 * max(w, h) / min(w, h))))
    while side > 64 and 3 * sp.step(precision, "adam", side_pixels(wh, side)) > FIRST_FRAME:
        side -= GRID // 2
    return min(round(0.7 * side), size)


# ---------------------------------------------------------------------------- memory
BLOCK_PASSES = 1.5  # a blocked step's cost over a whole step's, for the pixels its blocks read:
# every block forward for the statistics (no gradient kept), then forward and backward again
HEADROOM = 0.85  # of the memory free when a run starts, what its plan may take
MARGIN_OF_ERROR = 1.15  # predicted peaks came out 5-20 % under the measured ones (docs/design/time-budgets.md)
MIN_HISTORY = 5  # L-BFGS with fewer curvature pairs than this is no better than Adam: Adam instead
TIME_FOR_MEMORY = 1.2  # a blocked level takes blocks this much slower than the fastest that fit, if smaller


def parse_bytes(text) -> float:
    """'8G', '512M', '8GB', '2.5g', '8e9': a size in bytes, or ValueError with a sentence."""
    m = re.fullmatch(r"\s*([\d.]+(?:e\d+)?)\s*([kmgt]?)i?b?\s*", str(text).lower())
    if not m:
        raise ValueError(f"a memory size is a number with K, M, G or T, such as 8G; got {text!r}")
    return float(m[1]) * 1024 ** "_kmgt".index(m[2] or "_")


def memory_budget(s: Settings, device: torch.device) -> float | None:
    """The bytes a run may take: s.max_memory, else $NST_MAX_MEMORY, else HEADROOM of what is free
    (None where that cannot be read: no limit then)."""
    if s.max_memory:
        return s.max_memory
    if os.environ.get("NST_MAX_MEMORY"):
        return parse_bytes(os.environ["NST_MAX_MEMORY"])
    free = free_memory(device)
    return HEADROOM * free if free else None


def picture_bytes(pixels: float, optimizer: str, history: int, style_scale: float) -> float:
    """What a run keeps at a level's full size besides its blocks' activations: fp32 pictures of
    12 bytes a pixel (the pixels, their gradient, the blocks' gradient summed, the best and the
    latest picture, the photo at this size, the optimizer's temporaries, and the painting at its
    scale), the optimizer's state (Adam's two moments; L-BFGS's two per curvature pair, and its
    diagonal H_0's second moment and D), and the content maps P (512 channels at 1/8)."""
    picture = 12 * pixels
    state = 2 if optimizer == "adam" else 2 * history + 3
    return picture * (8 + style_scale ** 2 + state) + 32 * pixels


def level_bytes(sp: Speed, precision: str, optimizer: str, wh, side: int, block: int | None, history: int,
                style_scale: float = 1.0) -> float | None:
    """Predicted peak memory of one level's steps, whole or by blocks of `block` px."""
    px = side_pixels(wh, side)
    prec = "fp32" if optimizer != "adam" else precision
    if block is None:
        whole = sp.bytes(prec, px)
        return None if whole is None else whole + (0 if optimizer == "adam" else 12 * px * (2 * history + 1))
    w, h = side_wh(wh, side)
    outer = min(h, block + 2 * MARGIN) * min(w, block + 2 * MARGIN)
    one = sp.bytes(prec, outer)
    return None if one is None else one + picture_bytes(px, optimizer, history, style_scale)


def plan_memory(sp: Speed, precision: str, optimizer: str, wh, side: int, budget: float | None,
                history: int = 100, style_scale: float = 1.0) -> tuple[int | None, int]:
    """(block side or None for the whole picture at once, L-BFGS history) that keep a level's
    peak within `budget` bytes: the whole picture if it fits, else of the blocks that do the
    smallest within TIME_FOR_MEMORY of the fastest's seconds,
    L-BFGS's history shrunk first where its pairs alone would not fit. ValueError (a sentence)
    where not even blocks of 256 px fit."""
    if budget is None or not sp.memory:
        return None, history
    fits = lambda b, hist: MARGIN_OF_ERROR * (level_bytes(sp, precision, optimizer, wh, side, b, hist,  # noqa: E731
                                                          style_scale) or 0) <= budget
    if optimizer != "adam":  # its curvature pairs take at most half of it, fewer where that leaves no room
        history = max(MIN_HISTORY, min(history, int(budget / 2 / (24 * side_pixels(wh, side)))))
        while history > MIN_HISTORY and not fits(256, history):
            history = max(MIN_HISTORY, history // 2)
    if fits(None, history):
        return None, history
    # of the blocks that fit, the smallest whose steps take within TIME_FOR_MEMORY of the fastest's:
    # larger blocks read less margin twice, but past that they buy little time for much memory
    fitting = [(block_factor(wh, side, b), b) for b in range(256, side - side % GRID + 1, 64) if fits(b, history)]
    if fitting:
        fastest = min(f for f, _ in fitting)
        return min(b for f, b in fitting if f <= TIME_FOR_MEMORY * fastest), history
    need = level_bytes(sp, precision, optimizer, wh, side, 256, history, style_scale) or 0
    raise ValueError(f"a {side} px picture needs about {need / 2**30:.1f} GB even in blocks of 256 px, and "
                     f"{budget / 2**30:.1f} GB may be used here: paint it smaller, or give more (--max-memory)")


PRINT_STEPS = 2  # a print's full-size level gets at least this many steps, or the size is not offered


def plan_print(s: Settings, wh, start: int, side: int, seconds: float, sp: Speed,
               memory: float | None = None) -> list[tuple[int, int]]:
    """The levels that enlarge a picture painted at long side `start` to `side` for print, within
    `seconds`: each level twice the one before (the first above `start`, the last `side`), twice
    the steps at each coarser one, as many as fit (blocked levels costed as such). ValueError (a
    sentence) where not even PRINT_STEPS at full size fit, or not even blocks fit `memory`."""
    _, precision, optimizer = resolve(s, sp)

    def levels(n):
        return plan_levels(side, n, True, coarsest=start + 1)

    def fits(n):
        return cost(sp, precision, optimizer, wh, levels(n), memory) <= seconds

    plan_memory(sp, precision, "adam", wh, side, memory)  # refuses, in words, a size no block fits
    least = len(levels(1)) * 2 + PRINT_STEPS - 2  # 2 at each coarser level, PRINT_STEPS at full size
    if not fits(least):
        predicted = cost(sp, precision, optimizer, wh, levels(least), memory)
        raise ValueError(f"{seconds:g} s cannot paint a {side} px print on this machine: even {PRINT_STEPS} "
                         f"steps at that size are predicted to take about {predicted:.0f} s. Choose a "
                         f"smaller print")
    return levels(most(fits, least))


# ---------------------------------------------------------------------------- a run's plan
@dataclass
class RunPlan:
    """Everything decided before a run paints: its Settings with the size and steps filled in,
    the device and arithmetic, the levels and each one's optimizer, and the deadline."""

    settings: Settings
    device: torch.device
    precision: str
    optimizers: list  # per level: 'adam' | 'polish' | 'lbfgs'
    levels: list  # [(long side, steps)] coarse to fine, as planned before the first step
    speed: Speed | None
    deadline: float | None  # perf_counter time of the final frame, or None
    budgeted: bool  # the deadline is a budget to fill (steps may grow), not only a cap
    blocks: list  # per level: the block side its objective is evaluated by, or None (at once)
    history: int  # L-BFGS's curvature pairs, fewer where memory is short
    basis: str = "pixels"  # what the steps move: 'pixels' | 'pyramid' (nst/basis.py)
    detail: bool = False  # a finer level starts with the photo's own detail (levels.Start)
    diagonal: int | None = None  # the step from which L-BFGS's H_0 scales each pixel by its own
    # gradient (nst.optim.LBFGS); None: never

    @property
    def channels_last(self) -> bool:
        return self.device.type in ("cpu", "cuda")


def plan_run(s: Settings, wh: tuple[int, int], *, started: float, reserve: float = 0.0,
             limit: float | None = None, max_size: int = LARGEST, masked: bool = False) -> RunPlan:
    """The plan of a run of `s` on a photo of size wh, started at `started` (perf_counter): with
    s.seconds the final frame is due that many seconds after it, less `reserve` (what the caller
    needs after it), and the size and steps not given are planned to fill the time left; `limit`
    (seconds from `started`) caps any run. Given steps are a fixed length: the budget then only
    chooses the size, and sets no deadline. `masked`: the style goes under a brush only."""
    timed = s.seconds is not None or limit is not None
    device = resolve_device(s.device)
    # measured now if the run needs it; else only refreshed where a model exists
    sp = measured(device, s.weights, measure=timed or s.precision == "auto")
    device, precision, optimizer = resolve(s, sp)
    budgeted = s.seconds is not None and s.steps is None and not s.levels
    deadline = started + s.seconds - reserve if budgeted else None
    if limit is not None:
        deadline = min(deadline or math.inf, started + limit - reserve)
    left = started + s.seconds - reserve - time.perf_counter() if s.seconds is not None else None
    memory = memory_budget(s, device) if sp is not None else None
    s, p = concrete(s, wh, sp, left, max_size, memory)
    coarsest = first_side(sp, precision, wh, s.size) if p else COARSEST
    basis = resolve_basis(s.basis, precision, optimizer)
    start = start_of(basis, precision, optimizer, masked)
    levels = level_plan(wh, s, optimizer, coarsest, start.short)
    optimizers = level_optimizers(optimizer, len(levels), bool(polish_steps(s, optimizer)), precision)
    blocks, history = [], 100
    for j, (side, _) in enumerate(levels):
        block, hist = _level_memory(sp, precision, optimizers[j], wh, side, memory, s.style_scale)
        if optimizers[j] != "adam" and hist <= MIN_HISTORY and block is not None:
            optimizers[j] = "adam"  # L-BFGS's pairs do not fit beside the picture: Adam needs two
            block, _ = _level_memory(sp, precision, "adam", wh, side, memory, s.style_scale)
        blocks.append(block)
        history = min(history, hist)
    return RunPlan(s, device, precision, optimizers, levels, sp, deadline, budgeted, blocks, history, basis,
                   start.detail if s.detail is None else s.detail, resolve_scaling(s.lbfgs_scaling, precision))


def _level_memory(sp, precision, optimizer, wh, side, memory, style_scale) -> tuple[int | None, int]:
    """plan_memory for one level of a run; L-BFGS that does not fit even with the least history
    comes back as (a block, MIN_HISTORY), so that the level runs Adam instead of being refused."""
    if sp is None:
        return None, 100
    try:
        return plan_memory(sp, precision, optimizer, wh, side, memory, style_scale=style_scale)
    except ValueError:
        if optimizer == "adam":
            raise
        return 256, MIN_HISTORY


def concrete(s: Settings, wh: tuple[int, int], sp: Speed | None = None, seconds: float | None = None,
             max_size: int = LARGEST, memory: float | None = None) -> tuple[Settings, Plan | None]:
    """s with its size and steps filled in: given ones win; with a time budget (`seconds`, the
    time left for the steps) the planner fills the others; else the defaults."""
    if s.levels:
        return s.replace(size=s.levels[-1][0], steps=sum(n for _, n in s.levels)), None
    if seconds is None or (s.size is not None and s.steps is not None):
        return s.replace(size=s.size or DEFAULT_SIZE, steps=s.steps or DEFAULT_STEPS), None
    p = plan(s, wh, seconds, sp, max_size=max_size, memory=memory)
    return s.replace(size=p.size, steps=p.steps), p


# ---------------------------------------------------------------------------- keeping the deadline
class Schedule:
    """The level plan [(side, steps)] and, under a deadline, its re-planning: before each step the
    steps left are scaled so that the predicted finish meets the deadline, predicted from the rate
    measured at this level and, for later levels, the machine's model scaled by how far this
    level's measured rate is off it. A budget may add steps (`grow`); a safety limit only cuts.
    Coarse levels give way first: the finest level always keeps at least one step, so a cut run
    still ends at full size."""

    def __init__(self, levels, optimizers, wh, sp, precision, deadline=None, grow=False, blocks=None):
        self.levels = [list(lv) for lv in levels]
        self.factors = [block_factor(wh, side, b) for (side, _), b in zip(levels, blocks or [None] * len(levels))]
        self.optimizers, self.wh, self.sp, self.precision = optimizers, wh, sp, precision
        self.deadline, self.grow = deadline, grow
        self.times: dict[int, list[float]] = {}  # level -> seconds of each step
        self.k = 1.0  # measured / modelled seconds per step, carried to later levels
        self.cut = False  # a limit (not a budget) took steps away

    @property
    def total(self) -> int:
        return sum(n for _, n in self.levels)

    def planned(self) -> list[tuple[int, int]]:
        """The levels still in the plan (a coarse level re-planned to no steps is left out)."""
        return [tuple(lv) for lv in self.levels if lv[1] or lv is self.levels[-1]]

    def taken(self) -> list[tuple[int, int]]:
        """[(side, steps)] of the levels as run so far: what repeats this run exactly."""
        return [(self.levels[j][0], len(t)) for j, t in sorted(self.times.items())]

    def model(self, j: int) -> float:
        px = side_pixels(self.wh, self.levels[j][0])
        return self.sp.step(self.precision, self.optimizers[j], px) * self.factors[j]

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

    def seconds_left(self, level: int, done_here: int, now: float) -> float:
        """The countdown a visitor sees: a budget's is the deadline's own (it never jumps up at a
        level change), a capped run's the prediction within the cap."""
        left = self.left(level, done_here)
        if self.deadline is not None:
            left = self.deadline - now if self.grow else min(left, self.deadline - now)
        return max(0.0, left)

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
        self._scale(level, done_here, self.deadline - now - fixed, var, here, later)

    def _scale(self, level, done_here, avail, var, here, later) -> None:
        """Scale the steps left so that `var` predicted seconds become `avail`."""
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

    def report(self) -> None:
        """A real run refreshes the machine's model with the rates it measured (levels of at
        least four steps; the first, which sets up kernels, left out)."""
        for level, times in self.times.items():
            if len(times) >= 4 and self.factors[level] == 1.0:  # a blocked level's steps are dearer
                observe(self.sp, self.precision, self.optimizers[level],
                        side_pixels(self.wh, self.levels[level][0]), statistics.median(times[1:]))

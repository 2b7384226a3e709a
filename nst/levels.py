"""The level plan: which sizes a run paints at, coarse to fine, how many steps each, and which
optimizer each level runs. Pure arithmetic: no tensors, no clock, no machine."""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import images
from .objective import layers_used, min_side
from .vgg import pools_before
from .settings import Settings

COARSEST = 128  # px: the pyramid starts here (or at the output size if that is smaller)


FIRST_SHARE = 8  # with a short start, the first level takes 1/8 of the steps (about 1% of the time)
DIAGONAL_FROM = 64  # auto: L-BFGS's H_0 turns diagonal after this many steps of a level (bf16)


def resolve_basis(basis: str, precision: str, optimizer: str) -> str:
    """'auto' is the Laplacian pyramid for Adam in bf16, where it was measured ahead of the pixels
    (bench/README.md, methods), and the pixels otherwise."""
    if basis != "auto":
        return basis
    return "pyramid" if precision == "bf16" and optimizer == "adam" else "pixels"


def resolve_scaling(scaling: str, precision: str) -> int | None:
    """The step of a level from which L-BFGS's H_0 is diagonal (nst.optim.LBFGS); None: never.
    'auto': from DIAGONAL_FROM in bf16, where that was measured 0.1-1.2 % lower at 2 min on three
    pairs, and 3-8 % higher from the first step on two of them (docs/history.md); never in fp32,
    where from the first step it lost 4-5 % at 45 s and the tail is unmeasured."""
    if scaling == "auto":
        return DIAGONAL_FROM if precision == "bf16" else None
    return {"scalar": None, "diagonal": 1}[scaling]


@dataclass(frozen=True)
class Start:
    """How the levels of a run begin. `short`: the full size moves the coarse structure itself,
    so a first level of 1/FIRST_SHARE of the steps only buys a painted first frame. `detail`: the
    full size starts from the coarse level's change enlarged onto the photo's own detail
    (engine.start_image), not from the blurred enlargement alone, which would leave the full size
    to paint back the detail the content layer asks for."""

    short: bool = False
    detail: bool = False


def start_of(basis: str, precision: str, optimizer: str, masked: bool = False) -> Start:
    """The start measured best at the same budget (bench/README.md, methods): short on the
    pyramid basis and for L-BFGS at full size, which starts from the photo's detail (ahead on
    three pairs of three at 45 s, in fp32 on the AVX2 EPYC and in bf16 on the Zen 4 EPYC), but
    not under a brush (`masked`): there the patch stayed nearer the photo (bench/mask.py)."""
    lbfgs_at_full_size = optimizer == "adam+lbfgs" or (precision == "bf16" and optimizer == "lbfgs")
    return Start(short=basis == "pyramid" or lbfgs_at_full_size, detail=lbfgs_at_full_size and not masked)


def plan_levels(size: int, steps: int, pyramid: bool = True, coarsest: int = COARSEST,
                short: bool = False) -> list[tuple[int, int]]:
    """[(long side, steps)] from coarse to fine. Each level halves the side down to `coarsest`
    and gets twice the steps of the next finer one: steps are spent where they are cheap, the
    fine levels only add detail to an already-painted picture. With a `short` start (Start) the
    steps at full size move the coarse structure themselves: a first level at the coarsest size
    takes 1/FIRST_SHARE of the steps (a painted first frame within moments), the full size the
    rest."""
    if not pyramid or size < 2 * coarsest or steps < 2:
        return [(size, steps)]
    sizes = [size]
    while sizes[-1] // 2 >= coarsest:
        sizes.append(sizes[-1] // 2)
    if short:
        first = max(1, steps // FIRST_SHARE)
        return [(sizes[-1], first), (size, steps - first)]
    sizes = sizes[::-1][-steps:]  # fewer steps than levels: keep the finest ones
    shares = [2.0 ** (len(sizes) - 1 - i) for i in range(len(sizes))]
    counts = [max(1, math.floor(steps * s / sum(shares))) for s in shares]
    counts[-1] = max(1, steps - sum(counts[:-1]))  # exact total, the finest level takes the rest
    while sum(counts) > steps and max(counts) > 1:  # tiny step counts: trim coarse levels first
        counts[counts.index(max(counts))] -= 1
    return list(zip(sizes, counts))


def polish_steps(s: Settings, optimizer: str) -> int:
    """Steps of the final L-BFGS polish: only after Adam (`optimizer` is the resolved one), and
    never all of the run."""
    if not s.polish or optimizer != "adam":
        return 0
    return max(0, min(int(s.polish), s.steps - 1))


def level_plan(content_size: tuple[int, int], s: Settings, optimizer: str, coarsest: int = COARSEST,
               short: bool = False) -> list[tuple[int, int]]:
    """[(long side, steps)] this run will really take for a content image of `content_size`
    (w, h): s.levels as given, else plan_levels() without the levels too thin for the deepest
    layer (their steps go to the finest level), then the polish. Raises ValueError when even
    the full size is too thin. `s` has its size and steps."""
    layers = layers_used(s)
    short_min = min_side(layers)
    short_at = lambda long_side: min(images.fit_size(*content_size, long_side))  # noqa: E731
    if short_at(s.size) < short_min:
        raise ValueError(f"at size {s.size} the picture's short side would be {short_at(s.size)} px, "
                         f"but layer {max(layers, key=pools_before)} needs at least {short_min} px: "
                         f"use a larger size or a less elongated image")
    if s.levels:
        return [tuple(lv) for lv in s.levels]
    polish = polish_steps(s, optimizer)
    main = s.steps - polish
    levels = [lv for lv in plan_levels(s.size, main, s.pyramid, coarsest, short) if short_at(lv[0]) >= short_min]
    if sum(n for _, n in levels) < main:
        levels[-1] = (levels[-1][0], levels[-1][1] + main - sum(n for _, n in levels))
    return levels + [(s.size, polish)] * bool(polish)


def level_optimizers(optimizer: str, n_levels: int, polish: bool, precision: str = "fp32") -> list[str]:
    """The optimizer of each level: 'adam', 'lbfgs' (with a line search: it may start from noise)
    or 'polish' (L-BFGS as the textbook runs it, after Adam has painted the picture): the
    explicit polish level after Adam, or the finest level of 'adam+lbfgs' (its only one, when the
    picture is too small for a pyramid: the sized first step makes a line search unnecessary).
    In bf16 every L-BFGS level is a 'polish': a line search there was measured to diverge."""
    if optimizer == "adam+lbfgs":
        return ["adam"] * (n_levels - 1) + ["polish"]
    if optimizer == "lbfgs" and precision == "bf16":
        return ["polish"] * n_levels
    return [optimizer] * (n_levels - polish) + ["polish"] * polish


def optimizer_name(optimizers: list[str]) -> str:
    """What a level plan really runs, in one word: 'adam', 'lbfgs' or 'adam+lbfgs'."""
    kinds = {"adam" if o == "adam" else "lbfgs" for o in optimizers}
    return kinds.pop() if len(kinds) == 1 else "adam+lbfgs"

"""Spatial blocks: how a picture too large for memory is cut so that VGG-19, run block by block,
gives exactly the activations it gives on the whole picture (after Galerne, Raad, Lezama & Morel,
"Scaling Painting Style Transfer", Computer Graphics Forum 2024).

The picture is tiled by inner blocks whose edges lie on the pooling grid (multiples of 16, the
four pools before conv5_1), and each is read with a margin of the picture around it. An
activation depends only on the pixels of its receptive field; where that field lies within the
block read, the block's activation is the whole picture's, to the last bit of arithmetic. So
each block answers for its inner tile only, at every layer: the inner tiles' activations form
the whole picture's maps, which no memory ever holds at once.
"""
from __future__ import annotations

from dataclasses import dataclass

GRID = 16  # px: the pooling grid up to conv5_1 (2^4)


def receptive_radius(deepest_pools: int = 4, convs=(2, 2, 4, 4, 1)) -> int:
    """How far, in pixels, an activation of the deepest layer reaches from its centre: 3x3 convs
    widen the field by one step each side, 2x2 pools by half a step and double the step."""
    radius, jump = 0.5, 1
    for block, n in enumerate(convs[: deepest_pools + 1]):
        radius += n * jump
        if block < deepest_pools:
            radius += jump / 2
            jump *= 2
    return int(radius + 0.5)


MARGIN = -(-receptive_radius() // GRID) * GRID  # px, 80: conv5_1 reaches 78 px, on the grid


@dataclass(frozen=True)
class Block:
    """One block: the rows and columns of the picture it reads (`outer`) and those it answers for
    (`inner`), as (top, bottom, left, right) in pixels; the inner blocks tile the picture."""

    outer: tuple
    inner: tuple

    def read(self, x):
        """The block's pixels of a picture (1, C, H, W)."""
        t, b, l, r = self.outer
        return x[..., t:b, l:r]

    def inner_of(self, F, pools: int, full_hw: tuple):
        """The inner part of the block's map F at a layer behind `pools` pools (a block's map is
        the whole picture's between these rows and columns), and where it lies in the whole
        picture's map: (crop of F, (top, bottom, left, right) in the whole map)."""
        s = 2 ** pools
        (ot, _, ol, _), (it, ib, il, ir) = self.outer, self.inner
        H, W = full_hw
        at = (it // s, H // s if ib == H else ib // s, il // s, W // s if ir == W else ir // s)
        t, b, l, r = at[0] - ot // s, at[1] - ot // s, at[2] - ol // s, at[3] - ol // s
        return F[..., t:b, l:r], at


def _cuts(n: int, side: int) -> list[int]:
    """Where the inner blocks end along one axis of n px: every `side` px (a multiple of GRID);
    a last strip thinner than half a block is merged into the one before."""
    cuts = list(range(side, n, side)) + [n]
    if len(cuts) > 1 and n - cuts[-2] < side // 2:
        cuts.pop(-2)
    return cuts


def tiles(h: int, w: int, side: int, margin: int = MARGIN) -> list[Block]:
    """The blocks of a picture of h x w px: inner blocks of about `side` px (rounded down to the
    grid), each read with `margin` px around it where the picture goes on (a margin of at least
    MARGIN makes every inner activation exact; less is allowed so that a test can see it fail)."""
    side = max(GRID, side // GRID * GRID)
    if margin % GRID:
        raise ValueError(f"a block's margin must be a multiple of {GRID} px, got {margin}")
    out = []
    rows, cols = _cuts(h, side), _cuts(w, side)
    for top, bottom in zip([0] + rows[:-1], rows):
        for left, right in zip([0] + cols[:-1], cols):
            out.append(Block((max(0, top - margin), min(h, bottom + margin),
                              max(0, left - margin), min(w, right + margin)), (top, bottom, left, right)))
    return out

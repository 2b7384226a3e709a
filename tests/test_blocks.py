"""The objective by blocks is exact: on pictures small enough for both ways, L and dL/dx by blocks
equal the whole picture's within float tolerance, for several block sizes, an odd size, a
panorama, a brushed region and the pixel terms; and they do not when a block's margin is too small."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import cool_painting, warm_photo
from nst import Settings, blocks, images, objective
from nst.objective import Objective
from nst.vgg import load_vgg


def _picture(w, h, seed=0):
    g = torch.Generator().manual_seed(seed)
    photo = images.to_tensor(warm_photo(w, h))
    return (photo + 40 * torch.rand(photo.shape, generator=g) - 20).clamp(0, 255)


def _objective(w, h, block=None, mask=None, temporal=None, **settings):
    net = load_vgg("vgg19", "cpu", False)
    s = Settings(precision="fp32", **settings)
    content = images.to_tensor(warm_photo(w, h))
    styles = [images.to_tensor(cool_painting(96, 80, seed=k)) for k in range(2 if s.mask_mode == "split" else 1)]
    return Objective(net, s, content, styles, [1.0 / len(styles)] * len(styles), (h, w), mask=mask,
                     temporal=temporal, block=block)


def _both(w, h, block, **kw):
    """(L, dL/dx) of one picture, the whole picture at once and by blocks."""
    out = []
    for b in (None, block):
        x = _picture(w, h).requires_grad_(True)
        L, Lc, Ls = _objective(w, h, b, **kw).evaluate(x)
        out.append((L.item(), Lc.item(), Ls.item(), x.grad.clone()))
    return out


def _close(whole, blocked, rel=1e-4):
    (L0, Lc0, Ls0, g0), (L1, Lc1, Ls1, g1) = whole, blocked
    assert L1 == pytest.approx(L0, rel=rel) and Lc1 == pytest.approx(Lc0, rel=rel, abs=1e-6)
    assert Ls1 == pytest.approx(Ls0, rel=rel)
    torch.testing.assert_close(g1, g0, rtol=rel, atol=rel * float(g0.abs().max()))


@pytest.mark.parametrize("w, h, block", [(289, 207, 64), (289, 207, 112), (480, 64, 96)],
                         ids=["odd size, small blocks", "odd size, larger blocks", "panorama"])
def test_loss_and_gradient_by_blocks_equal_the_whole_pictures(w, h, block):
    assert len(blocks.tiles(h, w, block)) > 2  # really cut
    _close(*_both(w, h, block))


def test_a_brushed_region_the_pixel_terms_and_two_paintings_are_exact_by_blocks():
    w, h = 257, 193
    m = np.zeros((h, w), np.float32)
    m[40:150, 60:200] = 1.0
    mask = torch.from_numpy(m)[None, None]
    warped = images.to_tensor(warm_photo(w, h).transpose(Image.FLIP_LEFT_RIGHT))
    reliable = torch.ones(1, 1, h, w)
    _close(*_both(w, h, 80, mask=mask, tv_weight=0.5, temporal=[(warped, reliable)]))
    _close(*_both(w, h, 80, mask=mask, mask_mode="split"))


def test_a_margin_too_small_for_conv5_1_is_not_exact(monkeypatch):
    """The check has teeth: with blocks read 32 px around instead of the 80 px conv5_1 reaches,
    the gradient differs."""
    monkeypatch.setattr(objective, "tiles", functools.partial(blocks.tiles, margin=32))
    with pytest.raises(AssertionError):
        _close(*_both(289, 207, 64))


def test_the_margin_covers_the_deepest_layers_reach():
    assert blocks.receptive_radius() == 78 and blocks.MARGIN == 80
    for b in blocks.tiles(300, 500, 96):  # the inner blocks tile the picture, on the grid
        t, bottom, left, right = b.inner
        assert t % blocks.GRID == 0 and left % blocks.GRID == 0
    assert sum((b.inner[1] - b.inner[0]) * (b.inner[3] - b.inner[2]) for b in blocks.tiles(300, 500, 96)) == 300 * 500

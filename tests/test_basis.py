"""The picture as a Laplacian pyramid's coefficients: exact both ways, its gradient the synthesis's
adjoint, and a run on it paints like a run on the pixels (Adam in 0..255, L-BFGS too)."""
import numpy as np
import pytest
import torch

from nst import Settings, paper_losses, stylize
from nst.basis import LaplacianPyramid

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("hw", [(33, 40), (64, 64), (17, 101)])
def test_a_pyramid_gives_back_the_picture_it_was_made_from(hw):
    x = torch.rand(1, 3, *hw, generator=torch.Generator().manual_seed(0)) * 255
    basis = LaplacianPyramid(x.shape, smallest=8)
    assert len(basis.shapes) >= 2 or min(hw) < 16
    z = basis.analyse(x)
    assert torch.allclose(basis.synthesise(z), x, atol=1e-3)


def test_the_coefficients_gradient_is_the_synthesis_adjoint():
    g = torch.Generator().manual_seed(1)
    basis = LaplacianPyramid((1, 3, 45, 60), smallest=8)
    z = torch.randn(sum(basis.sizes), generator=g, dtype=torch.float64)
    gx = torch.randn(1, 3, 45, 60, generator=g, dtype=torch.float64)
    lhs = float((basis.synthesise(z) * gx).sum())
    rhs = float((z * basis.pull(z, gx)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-9)


def test_clamping_keeps_the_coarse_bands():
    basis = LaplacianPyramid((1, 3, 32, 32), smallest=8)
    x = torch.rand(1, 3, 32, 32) * 400 - 70
    z = basis.analyse(x)
    coarse = z[basis.sizes[0]:].clone()
    basis.clamp_(z, 0, 255)
    y = basis.synthesise(z)
    assert float(y.min()) >= -1e-3 and float(y.max()) <= 255 + 1e-3
    assert torch.equal(z[basis.sizes[0]:], coarse)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_run_on_the_pyramid_paints_the_style(photo, painting, optimizer):
    s = Settings(size=48, steps=30, frame_every=10, basis="pyramid", optimizer=optimizer,
                 precision="fp32", pyramid=False)
    out = list(stylize(photo, painting, s))[-1]
    assert out.done and out.image.size[0] == 48
    ours = paper_losses(out.image, photo, painting)["style"]
    photos_own = paper_losses(photo.resize(out.image.size), photo, painting)["style"]
    assert ours < 0.5 * photos_own
    assert np.asarray(out.image).std() > 5


def test_an_unknown_basis_is_refused_in_words():
    with pytest.raises(ValueError, match="basis must be one of auto, pixels, pyramid"):
        Settings(basis="wavelets").validate()

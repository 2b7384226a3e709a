"""The paper's formulas against its own analytic gradients (Gatys et al. 2015, after eq. 2 and 6).

F is a post-ReLU activation (the engine's taps), F = relu(Z) of shape N x M; the gradients the
paper states are those w.r.t. F, and vanish w.r.t. Z where Z < 0.
"""
import pytest
import torch

from nst.losses import (content_loss, gram, guided_gram, guided_style_loss, layer_style_loss,
                        style_loss, total_loss, tv_loss)
from nst.losses import complementary_gram, grain, grain_loss

N, H, W = 6, 5, 4
M = H * W


def _relu_features(seed):
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(1, N, H, W, generator=g, dtype=torch.float64, requires_grad=True)
    return Z, torch.relu(Z)


def test_content_gradient_is_F_minus_P_where_F_is_positive():
    Z, F = _relu_features(0)
    P = torch.relu(torch.randn(1, N, H, W, dtype=torch.float64))
    content_loss(F, P).backward()
    expected = (F - P) * (Z > 0)
    torch.testing.assert_close(Z.grad, expected.detach().to(Z.grad.dtype), rtol=0, atol=1e-6)


def test_style_layer_gradient_matches_the_paper():
    Z, F = _relu_features(1)
    A = gram(torch.relu(torch.randn(1, N, H, W, dtype=torch.float64))).double()
    G = gram(F).double()
    layer_style_loss(gram(F).double(), A, N, M).backward()
    f = F.detach().flatten(2)[0].double()  # N x M
    # dE_l/dF^l_ij = ((F^l)^T (G^l - A^l))_ji / (N_l^2 M_l^2)  =  ((G - A) F)_ij / (N^2 M^2)
    expected = ((f.T @ (G.detach() - A)).T / (N**2 * M**2)).view(1, N, H, W) * (Z > 0)
    torch.testing.assert_close(Z.grad, expected.to(Z.grad.dtype), rtol=1e-4, atol=1e-9)


def test_gram_is_the_channel_correlation_sum():
    _, F = _relu_features(2)
    G = gram(F)
    i, j = 1, 4
    assert G.shape == (N, N) and torch.allclose(G, G.T)
    assert torch.isclose(G[i, j], (F[0, i] * F[0, j]).sum().float(), rtol=1e-5)


def test_style_loss_weighs_layers_and_vanishes_on_the_style_itself():
    _, F1 = _relu_features(3)
    _, F2 = _relu_features(4)
    grams, sizes = {"a": gram(F1), "b": gram(F2)}, {"a": (N, M), "b": (N, M)}
    own = {"a": gram(F1), "b": gram(F2)}
    assert style_loss(grams, own, {"a": 0.5, "b": 0.5}, sizes).item() == pytest.approx(0, abs=1e-6)
    other = {"a": gram(F2), "b": gram(F2)}
    E_a = layer_style_loss(gram(F1), gram(F2), N, M)
    assert style_loss(grams, other, {"a": 0.2, "b": 0.8}, sizes).item() == pytest.approx(0.2 * E_a.item())


def test_total_is_alpha_content_plus_beta_style_and_tv_counts_edges():
    assert total_loss(torch.tensor(2.0), torch.tensor(3.0), 10, 100).item() == 320
    x = torch.zeros(1, 3, 4, 4)
    x[..., 2:] = 1  # one vertical edge of height 4 in 3 channels, step 1
    assert tv_loss(x).item() == 12


def test_grain_is_the_mean_neighbour_difference_and_its_cap_costs_nothing_below_it():
    x = torch.zeros(1, 3, 4, 4)
    x[..., 1::2] = 10  # columns alternate 0, 10: every horizontal difference is 10, no vertical one
    assert grain(x).item() == pytest.approx(5.0)
    assert grain_loss(x, 5.0).item() == 0 and grain_loss(x, 7.0).item() == 0
    assert grain_loss(x, 4.5).item() == pytest.approx(0.25)  # e^2 near the cap
    assert grain_loss(x, 3.0).item() == pytest.approx(3.0)  # 2e - 1 beyond a grey level
    m = torch.zeros(1, 1, 4, 4)
    m[..., :2, :] = 1  # the top half only, where it is flat
    x[..., 2:, :] = 0
    x[..., :2, :] = 7
    assert grain(x, m).item() == 0 and grain(x).item() > 0


def test_guided_gram_sums_only_inside_its_region():
    """Gatys et al. 2017: G^{l,r} = (F o m_r)(F o m_r)^T. A mask of ones is the plain Gram; two
    hard complementary masks split the Gram into its two halves' Grams."""
    _, F = _relu_features(3)
    left = torch.zeros(1, 1, H, W, dtype=F.dtype)
    left[..., : W // 2] = 1
    assert torch.allclose(guided_gram(F, torch.ones_like(left)), gram(F))
    halves = guided_gram(F, left) + guided_gram(F, 1 - left)
    assert torch.allclose(halves, gram(F))
    assert torch.allclose(guided_gram(F, left), gram(F[..., : W // 2].contiguous()))


def test_one_region_over_everything_is_the_plain_style_loss():
    _, F = _relu_features(4)
    A = gram(_relu_features(5)[1]).detach()
    ones = torch.ones(1, 1, H, W, dtype=F.dtype)
    plain = style_loss({"l": gram(F)}, {"l": A}, {"l": 0.7}, {"l": (N, M)})
    guided = guided_style_loss([{"l": guided_gram(F, ones)}], [({"l": ones}, {"l": float(M)}, {"l": A})],
                               {"l": 0.7}, {"l": (N, M)})
    assert torch.allclose(plain, guided)


def test_the_range_term_is_zero_inside_and_pulls_back_what_leaves_it():
    from nst.losses import range_loss
    inside = torch.full((1, 3, 4, 4), 128.0)
    assert float(range_loss(inside)) == 0.0
    x = inside.clone()
    x[0, 0, 0, 0], x[0, 1, 1, 1] = 265.0, -5.0
    x.requires_grad_(True)
    L = range_loss(x)
    assert float(L.detach()) == pytest.approx((100 + 25) / 48)
    L.backward()
    assert x.grad[0, 0, 0, 0] > 0 and x.grad[0, 1, 1, 1] < 0  # descent moves both back in
    assert int((x.grad != 0).sum()) == 2


def test_a_box_painted_to_the_complementary_gram_completes_the_whole_picture():
    """Uncapped, a box whose Gram matrix per position is A'/M and a rest whose is G_rest/M_rest make
    a whole whose Gram matrix per position is the painting's own; capped, the box is asked for no
    more than cap times the rest's deviation."""
    g = torch.Generator().manual_seed(0)
    A, G_rest = torch.rand(4, 4, generator=g) * 40, torch.rand(4, 4, generator=g) * 300
    M, M_rest, M_free = 10, 30.0, 10.0  # the box is all that is free: 3x as much rest as box
    box = complementary_gram(A, M, G_rest, M_rest, M_free, cap=float("inf")) / M
    whole = (M_free * box + G_rest) / (M_free + M_rest)
    torch.testing.assert_close(whole, A / M)
    capped = complementary_gram(A, M, G_rest, M_rest, M_free, cap=1.0) / M
    torch.testing.assert_close(capped - A / M, A / M - G_rest / M_rest)

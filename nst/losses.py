"""The paper's losses, one function per formula (Gatys, Ecker & Bethge 2015, eqs. 1-7).

Notation: F^l is the generated image's activation at layer l, reshaped to N_l x M_l (N_l filters,
M_l = height x width); P^l is the content image's, A^l the style image's Gram matrix. All sums run
in fp32 even when the network ran in bf16: Gram entries are sums over M_l products and lose too
much precision in bf16.
"""
from __future__ import annotations

import torch


def content_loss(F: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """Eq. 1:  L_content(p, x, l) = 1/2 * sum_ij (F^l_ij - P^l_ij)^2."""
    return 0.5 * (F.float() - P.float()).pow(2).sum()


def gram(F: torch.Tensor) -> torch.Tensor:
    """Eq. 3:  G^l_ij = sum_k F^l_ik F^l_jk  for F of shape (1, N_l, H, W) -> (N_l, N_l)."""
    N = F.shape[1]
    if N > 1 and F.is_contiguous(memory_format=torch.channels_last):
        f = F.permute(0, 2, 3, 1).reshape(-1, N)  # M_l x N_l: a view in this layout, no copy
    else:
        f = F.reshape(N, -1).T
    return _Gram.apply(f.float())


class _Gram(torch.autograd.Function):
    """G = f^T f for f (M x N), with the gradient dL/df = f (dG + dG^T) as one matrix product
    (autograd's generic rule for f^T f costs two products and a sum)."""

    @staticmethod
    def forward(ctx, f):
        ctx.save_for_backward(f)
        return f.T @ f

    @staticmethod
    def backward(ctx, dG):
        (f,) = ctx.saved_tensors
        return f @ (dG + dG.T)


def layer_style_loss(G: torch.Tensor, A: torch.Tensor, N: int, M: int) -> torch.Tensor:
    """Eq. 4:  E_l = 1 / (4 N_l^2 M_l^2) * sum_ij (G^l_ij - A^l_ij)^2."""
    return (G - A).pow(2).sum() / (4.0 * N * N * M * M)


def complementary_gram(A: torch.Tensor, M: int, G_rest: torch.Tensor, M_rest: float, M_free: float,
                       cap: float) -> torch.Tensor:
    """The Gram target for a part of a picture painted anew while the rest stays (a video frame's
    revealed box): with a = A / M the painting's statistics per map position and g = G_rest / M_rest
    the rest's (a guided Gram over the M_rest positions outside the free part of M_free),
        A' = M [a + min(M_rest / M_free, cap) (a - g)].
    Uncapped, the whole picture's Gram, (M_free a' + M_rest g) / (M_free + M_rest), is then exactly
    a: the new part completes what the rest lacks. The cap keeps a thin part from being asked for
    statistics far outside the painting's."""
    k = min(M_rest / M_free, cap)
    a = A / M
    return M * (a + k * (a - G_rest / M_rest))


def _zero(*collections) -> torch.Tensor:
    """An fp32 zero on the tensors' device: a sum of no terms is still a loss."""
    for c in collections:
        for t in (c.values() if isinstance(c, dict) else c):
            if isinstance(t, torch.Tensor):
                return torch.zeros((), device=t.device)
    return torch.zeros(())


def style_loss(grams: dict, targets: dict, layer_weights: dict, sizes: dict) -> torch.Tensor:
    """Eq. 5:  L_style(a, x) = sum_l w_l E_l, over the style layers (w_l = 1/5 in the paper),
    from the picture's Gram matrices {l: G^l} and their sizes {l: (N_l, M_l)}."""
    total = _zero(grams)
    for name, w in layer_weights.items():
        N, M = sizes[name]
        total = total + w * layer_style_loss(grams[name], targets[name], N, M)
    return total


def guided_gram(F: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Guided Gram matrix (Gatys et al. 2017, "Controlling Perceptual Factors in NST", spatial
    control):
    G^{l,r} = (F^l o m^l_r)(F^l o m^l_r)^T, i.e. G^{l,r}_ij = sum_k m_k^2 F^l_ik F^l_jk,
    for F (1, N_l, H, W) and the region's guidance channel m^l_r (1, 1, H, W), values in 0..1,
    already brought to layer l's map size (see nst/masks.py). A mask of ones gives gram(F)."""
    return gram(F * m)


def guided_style_loss(grams: list, regions: list, layer_weights: dict, sizes: dict) -> torch.Tensor:
    """Style loss over regions r (Gatys et al. 2017, spatial control, with an area weight):
    L_style = sum_l w_l sum_r (M^l_r / M_l) / (4 N_l^2 (M^l_r)^2) sum_ij (G^{l,r}_ij - A^{l,r}_ij)^2,
    with M^l_r = sum_k (m^l_r)_k^2 the region's area. Each region is matched like a whole image of
    its size, and the area weight keeps alpha/beta meaning per pixel what it means unmasked, so
    one region covering the picture gives exactly eq. 5. `grams` is [{l: G^{l,r}}] per region,
    `regions` [(masks, areas {l: M^l_r}, targets {l: A^{l,r}})], `sizes` {l: (N_l, M_l)};
    a region too small at a layer has no target there and is left out."""
    total = _zero(*grams)  # a region too small for every layer here adds nothing
    for name, w in layer_weights.items():
        N, M = sizes[name]
        for G, (_, areas, targets) in zip(grams, regions):
            if name in targets:
                Mr = areas[name]
                total = total + w * (Mr / M) * layer_style_loss(G[name], targets[name], N, Mr)
    return total


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Total variation (not in the paper; an optional smoothness prior):
    TV(x) = sum_ijc (x_{i+1,j,c} - x_{i,j,c})^2 + (x_{i,j+1,c} - x_{i,j,c})^2, x in 0..255."""
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum()


def grain(x: torch.Tensor, m: torch.Tensor | None = None) -> torch.Tensor:
    """A picture's grain (not in the paper): the mean absolute difference between neighbouring
    pixels, g(x) = 1/2 (mean_ijc |x_{i+1,j,c} - x_{i,j,c}| + mean_ijc |x_{i,j+1,c} - x_{i,j,c}|), x in
    0..255; with weights m (1, 1, H, W) in 0..1 each difference counts by the weights of its two
    pixels (a region's grain: a brushed patch's). The paper's objective does not see it; an eye does."""
    x = x.float()
    dy, dx = (x[..., 1:, :] - x[..., :-1, :]).abs(), (x[..., :, 1:] - x[..., :, :-1]).abs()
    if m is None:
        return 0.5 * (dy.mean() + dx.mean())
    my, mx = m[..., 1:, :] * m[..., :-1, :], m[..., :, 1:] * m[..., :, :-1]
    return 0.5 * ((my * dy).sum() / (3 * my.sum()).clamp_min(1e-6) + (mx * dx).sum() / (3 * mx.sum()).clamp_min(1e-6))


def grain_loss(x: torch.Tensor, g_max: float, m: torch.Tensor | None = None) -> torch.Tensor:
    """A cap on grain (not in the paper): with e = max(0, g(x) - g_max), g_max the painting's own
    grain at the picture's pixel count, L_grain = e^2 for e <= 1 grey level and 2e - 1 beyond (its
    pull bounded, so white noise is not flattened before it takes the painting's colours). Nothing
    below the cap: a picture no rougher than the painting is left to the paper's objective alone."""
    e = (grain(x, m) - g_max).clamp_min(0)
    return torch.where(e <= 1, e.pow(2), 2 * e - 1)


def range_loss(x: torch.Tensor, lo: float = 0.0, hi: float = 255.0) -> torch.Tensor:
    """Out-of-range pixels (not in the paper): L_range(x) = 1/D sum_k max(0, x_k - hi)^2 +
    max(0, lo - x_k)^2, D = 3 H W. A picture is shown clipped to lo..hi, so L-BFGS's unconstrained
    pixels are held there; zero inside the range (Adam's clamped pictures never feel it)."""
    return ((x - hi).clamp_min(0).pow(2).sum() + (lo - x).clamp_min(0).pow(2).sum()) / x[0].numel()


def temporal_loss(x: torch.Tensor, warped: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Short-term temporal loss (Ruder, Dosovitskiy & Brox 2016, "Artistic style transfer for
    videos", eq. 6): L_temporal(x, w, c) = 1/D sum_k c_k (x_k - w_k)^2, with w the previous painted
    frame warped by the optical flow to this one, c (1, 1, H, W) in 0..1 the per-pixel reliability
    of that flow (0 where disoccluded or on a motion boundary) and D = 3 H W."""
    return (c * (x - warped).pow(2)).sum() / x[0].numel()


def total_loss(content: torch.Tensor, style: torch.Tensor, alpha: float, beta: float,
               tv: torch.Tensor | float = 0.0, tv_weight: float = 0.0,
               temporal: torch.Tensor | float = 0.0, gamma: float = 0.0,
               grain_term: torch.Tensor | float = 0.0, grain_weight: float = 0.0) -> torch.Tensor:
    """Eq. 7:  L_total(p, a, x) = alpha L_content + beta L_style  (+ tv_weight TV(x)
    + grain_weight L_grain(x)), and for a video frame (Ruder et al. 2016, eq. 7) + gamma L_temporal."""
    return alpha * content + beta * style + tv_weight * tv + gamma * temporal + grain_weight * grain_term

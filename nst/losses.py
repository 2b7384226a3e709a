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


def style_loss(features: dict, targets: dict, layer_weights: dict) -> torch.Tensor:
    """Eq. 5:  L_style(a, x) = sum_l w_l E_l, over the style layers (w_l = 1/5 in the paper)."""
    total = 0.0
    for name, w in layer_weights.items():
        F = features[name]
        N, M = F.shape[1], F.shape[2] * F.shape[3]
        total = total + w * layer_style_loss(gram(F), targets[name], N, M)
    return total


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Total variation (not in the paper; an optional smoothness prior):
    TV(x) = sum_ijc (x_{i+1,j,c} - x_{i,j,c})^2 + (x_{i,j+1,c} - x_{i,j,c})^2, x in 0..255."""
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum()


def total_loss(content: torch.Tensor, style: torch.Tensor, alpha: float, beta: float,
               tv: torch.Tensor | float = 0.0, tv_weight: float = 0.0) -> torch.Tensor:
    """Eq. 7:  L_total(p, a, x) = alpha L_content + beta L_style  (+ tv_weight TV(x))."""
    return alpha * content + beta * style + tv_weight * tv

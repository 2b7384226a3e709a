"""What the optimizer moves: the pixels themselves, or the coefficients of a Laplacian pyramid.

A Laplacian pyramid (Burt & Adelson 1983) writes the picture as a sum of bands, from the finest
to a small coarse picture:

    x = c_0 + U(c_1 + U(c_2 + ... U(c_K))),    U: 2x bilinear enlargement

Descending on the coefficients c instead of the pixels is a preconditioner (as STROTSS, Kolkin et
al. 2019, and Mordvintsev et al., "Differentiable Image Parameterizations", Distill 2018, do):
dL/dc_k = (U^T)^k dL/dx sums the gradient over a 2^k x 2^k patch, so one step moves the coarse
structure at once where pixel steps would take many, at the cost of a few interpolations. The
pictures a basis can show are the same (it is exact both ways); only the path to them changes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

SMALLEST = 16  # px: the short side of the coarsest band


class Pixels:
    """The pixels themselves: z is x."""

    def analyse(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach().clone()

    def synthesise(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def pull(self, z: torch.Tensor, grad_x: torch.Tensor) -> torch.Tensor:
        return grad_x

    def clamp_(self, z: torch.Tensor, lo: float, hi: float) -> None:
        z.clamp_(lo, hi)


class LaplacianPyramid:
    """The coefficients of x's Laplacian pyramid in one flat tensor z (the finest band first), so
    an optimizer written for one tensor moves them all:

        analyse:     g_0 = x, g_{k+1} = D(g_k), c_k = g_k - U(g_{k+1}), c_K = g_K
        synthesise:  x_K = c_K, x_k = c_k + U(x_{k+1}), x = x_0

    with D an antialiased bilinear halving; synthesise(analyse(x)) = x to rounding."""

    def __init__(self, shape: torch.Size, smallest: int = SMALLEST):
        n, ch, h, w = shape
        self.shapes = [(n, ch, h, w)]
        while min(h, w) // 2 >= smallest:
            h, w = (h + 1) // 2, (w + 1) // 2
            self.shapes.append((n, ch, h, w))
        self.sizes = [n * ch * h * w for n, ch, h, w in self.shapes]

    def _bands(self, z: torch.Tensor) -> list[torch.Tensor]:
        return [b.view(s) for b, s in zip(z.split(self.sizes), self.shapes)]

    def analyse(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach()
        g = [x]
        for shape in self.shapes[1:]:
            g.append(F.interpolate(g[-1], size=shape[-2:], mode="bilinear", antialias=True))
        bands = [gk - _up(gn, gk.shape) for gk, gn in zip(g, g[1:])] + [g[-1]]
        return torch.cat([b.flatten() for b in bands])

    def synthesise(self, z: torch.Tensor) -> torch.Tensor:
        bands = self._bands(z)
        x = bands[-1]
        for c in reversed(bands[:-1]):
            x = c + _up(x, c.shape)
        return x

    def pull(self, z: torch.Tensor, grad_x: torch.Tensor) -> torch.Tensor:
        """dL/dz from dL/dx: the synthesis's adjoint (it is linear, so autograd's is exact)."""
        with torch.enable_grad():
            zz = z.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.synthesise(zz), zz, grad_x)
        return g

    def clamp_(self, z: torch.Tensor, lo: float, hi: float) -> None:
        """Keep the picture in lo..hi by moving the finest band by what the clamp moves each
        pixel: the other bands, and so the coarse structure, stay as the step left them."""
        x = self.synthesise(z)
        self._bands(z)[0].add_(x.clamp(lo, hi) - x)


def _up(x: torch.Tensor, shape) -> torch.Tensor:
    return F.interpolate(x, size=tuple(shape[-2:]), mode="bilinear", align_corners=False)


def make_basis(name: str, shape: torch.Size):
    """'pixels' or 'pyramid' (a Laplacian pyramid of this picture's size)."""
    return Pixels() if name == "pixels" else LaplacianPyramid(shape)

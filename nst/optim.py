"""The optimizers that paint the pixels: Adam (ours) and L-BFGS (torch's), one step per call.

Why Adam is written out here: torch.optim.Adam.step imports torch's compiler, torch._dynamo, on
its first call, and every torch optimizer's constructor does the same through add_param_group.
That import took 1.41, 1.81 and 1.75 s in a fresh process on a 2-core CPU (measured), paid by
every command-line run (an eighth of Quick's 15 s), every Ray worker and the app's start, for a
compiler this engine never uses.
"""
from __future__ import annotations

import math

import torch


class Adam:
    """Adam (Kingma & Ba 2015) on one tensor x, as torch.optim.Adam computes it by default:

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        x <- x - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    Its state has torch's keys (step, exp_avg, exp_avg_sq), so the moments can be carried from
    one pyramid level to the next."""

    def __init__(self, x: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.x, self.betas, self.eps = x, betas, eps
        self.param_groups = [{"lr": lr}]
        self.state: dict = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.x.grad = None

    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        (b1, b2), g = self.betas, self.x.grad
        s = self.state.get(self.x)
        if s is None:
            s = self.state[self.x] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(self.x),
                                      "exp_avg_sq": torch.zeros_like(self.x)}
        with torch.no_grad():
            s["step"] += 1
            t = s["step"].item()
            s["exp_avg"].lerp_(g, 1 - b1)
            s["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (s["exp_avg_sq"].sqrt() / math.sqrt(1 - b2 ** t)).add_(self.eps)
            self.x.addcdiv_(s["exp_avg"], denom, value=-self.param_groups[0]["lr"] / (1 - b1 ** t))
        return loss


def _skip_compiler_import() -> None:
    """torch wraps some Optimizer methods (add_param_group, zero_grad, ...) in _disable_dynamo,
    whose first call imports the compiler (see above). Marking each wrapped method as already
    disabled skips the import for L-BFGS; a torch without these internals is left as it is."""
    from torch import _compile
    for cls in (torch.optim.Optimizer, torch.optim.LBFGS):
        for f in vars(cls).values():
            raw = getattr(f, "__wrapped__", None)
            code = getattr(f, "__code__", None)
            if raw is not None and code is not None and code.co_filename == _compile.__file__:
                raw.__dynamo_disable = raw


_skip_compiler_import()


def make_optimizer(name: str, x: torch.Tensor, lr: float):
    """'adam'; 'polish': L-BFGS as the textbook runs it (no line search, one evaluation per step,
    a long history), after Adam has painted the picture; 'lbfgs': L-BFGS with a strong-Wolfe line
    search, which may start from noise. Both L-BFGS take max_iter=1, one iteration per step()
    call, so frames and cancel stay per step; the curvature history lives in the optimizer state
    and carries across calls. Their first step is sized by the caller (torch's, 1/|g|_1, is
    rounding noise at these loss scales)."""
    if name == "adam":
        return Adam(x, lr)
    if name == "polish":
        return torch.optim.LBFGS([x], lr=1, max_iter=1, max_eval=1, history_size=100,
                                 tolerance_grad=0, tolerance_change=0)
    return torch.optim.LBFGS([x], lr=1, max_iter=1, max_eval=20, history_size=50,
                             line_search_fn="strong_wolfe")

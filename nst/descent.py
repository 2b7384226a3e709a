"""The descent: minimise one level's objective over the pixels, one optimizer step per call.

It keeps the best picture seen (the lowest total loss) with its losses, and the latest evaluated
picture with its own losses (`seen`), so a frame always pairs a picture with the losses of that
picture. It knows nothing of levels, deadlines or frames (nst/engine.py).
"""
from __future__ import annotations

import math

import torch

from .basis import make_basis
from .objective import Objective
from .optim import make_optimizer


class Descent:
    """`optimizer`: 'adam', 'polish' (L-BFGS without a line search) or 'lbfgs' (with one); see
    nst.optim.make_optimizer. `basis`: what it moves, the pixels or a Laplacian pyramid's
    coefficients z (nst/basis.py). Adam's pictures stay in 0..255; L-BFGS's are not clamped.
    `diagonal`: the step from which L-BFGS scales each pixel's step by its own gradient's size
    (nst.optim.LBFGS); None: never. `lr`: Adam's step, one or per pixel (a tensor like x0's)."""

    def __init__(self, objective: Objective, x0: torch.Tensor, optimizer: str, lr: float | torch.Tensor,
                 history: int = 100, basis: str = "pixels", diagonal: int | None = None):
        self.objective, self.optimizer, self.lr = objective, optimizer, lr
        self.basis = make_basis(basis, x0.shape)
        self.z = self.basis.analyse(x0).requires_grad_(True)
        self.opt = make_optimizer(optimizer, self.z, lr, history, diagonal)
        self.best, self.best_loss, self.best_losses = self.x.detach().clone(), math.inf, {}
        self.seen, self.losses = self.best, {}  # the latest evaluated picture and its losses

    def _record(self, x: torch.Tensor, L, Lc, Ls) -> float:
        v = L.item()
        if not math.isfinite(v):
            raise FloatingPointError("the loss became infinite or NaN; lower lr or the weights, "
                                     "or use precision='fp32'")
        self.seen = self.objective.picture(x.detach()).clone()
        self.losses = {"content": Lc.item(), "style": Ls.item(), "total": v}
        if v < self.best_loss:
            self.best_loss, self.best, self.best_losses = v, self.seen, self.losses
        return v

    @property
    def x(self) -> torch.Tensor:
        """The pixels the optimizer's z stands for."""
        return self.basis.synthesise(self.z.detach())

    def _closure(self):
        x = self.x.requires_grad_(True)
        L, Lc, Ls = self.objective.evaluate(x)  # leaves dL/dx in x.grad
        self.z.grad = self.basis.pull(self.z, x.grad)
        self._record(x, L, Lc, Ls)
        return L

    def step(self) -> None:
        self.opt.step(self._closure)
        if self.optimizer == "adam":
            with torch.no_grad():
                self.basis.clamp_(self.z, 0, 255)

    def finish(self) -> None:
        """Evaluate the level's last update (a step evaluates the picture *before* its update),
        so the final picture can be the best one and the next level can start from it."""
        known = getattr(self.opt, "known", None)
        if known is not None and torch.equal(self.z, known[0]):
            return  # the line search evaluated this very point
        self._record(self.x, *self.objective.value(self.x))

    def state(self) -> dict:
        """What a checkpoint keeps of this descent: the pixels, the optimizer's state and the best
        picture seen, with its losses (tensors, numbers and dicts only)."""
        return {"x": self.z.detach().clone(), "opt": self.opt.state_dict(), "best": self.best.clone(),
                "best_loss": torch.tensor(self.best_loss, dtype=torch.float64),
                "best_losses": dict(self.best_losses), "seen": self.seen.clone(), "losses": dict(self.losses)}

    def restore(self, state: dict) -> None:
        """Go on from a checkpoint's state (see state())."""
        with torch.no_grad():
            self.z.copy_(state["x"])
        self.opt.load_state_dict(state["opt"])
        self.best, self.best_loss, self.best_losses = state["best"], float(state["best_loss"]), dict(state["best_losses"])
        self.seen, self.losses = state["seen"], dict(state["losses"])

    def take_moments(self, coarser: "Descent") -> None:
        """Adam to Adam across a pyramid level: start with the coarser level's moments, enlarged
        to this size (as crowsonkb's style-transfer-pytorch carries them), not from zero. Adam's
        step m/sqrt(v) is scale-free, so the gradients' other scale at this size does not matter."""
        old = coarser.opt.state
        if self.optimizer != "adam" or coarser.optimizer != "adam" or not old or self.z.dim() != 4:
            return  # (a pyramid's bands have no one size to enlarge them to)
        hw = tuple(self.z.shape[-2:])
        grow = lambda t: torch.nn.functional.interpolate(t, size=hw, mode="bilinear")  # noqa: E731
        self.opt.state.update(step=old["step"].clone(), exp_avg=grow(old["exp_avg"]),
                              exp_avg_sq=grow(old["exp_avg_sq"]).clamp_min(0))

    def objective_changed(self) -> None:
        """The objective was steered: losses from before cannot rank pictures any more. Adam keeps
        its moments (a change never restarts the run); L-BFGS drops its curvature pairs, which
        describe the old objective: kept, they sent the line search to NaN after a 1000x change
        of alpha/beta (measured, 32 px). It goes on from the same picture, its first step sized
        afresh."""
        self.best_loss, self.best_losses = math.inf, {}
        if self.optimizer != "adam":
            self.opt.reset()

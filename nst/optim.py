"""The optimizers that paint the pixels, one iteration per call: Adam and L-BFGS, written out.

Both work on one tensor x and take a closure that evaluates the objective at x and leaves its
gradient in x.grad, as torch's optimizers do. They are written here rather than taken from
torch.optim for two reasons: torch's optimizers import its compiler (torch._dynamo) on first use,
a second and a half of every command-line run for a compiler this engine never uses, and the
engine needs a say in how L-BFGS starts and which curvature pairs it keeps.
"""
from __future__ import annotations

import math

import torch

FIRST_STEP = 32.0  # grey levels: how far L-BFGS's first step moves the steepest pixel
# The diagonal H_0: how fast its second moment of the gradient forgets (0.8-0.9 measured alike;
# 0.99 lost its gain, 0.5 kept most of it), and the floor below which a pixel's share of it stops
# lengthening the step (0.001-0.1 alike); docs/history.md.
DIAGONAL_MEMORY, DIAGONAL_FLOOR = 0.9, 0.01


class Adam:
    """Adam (Kingma & Ba 2015) on one tensor x, as torch.optim.Adam computes it by default:

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        x <- x - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    Its state has torch's keys (step, exp_avg, exp_avg_sq), so the moments can be carried from
    one pyramid level to the next. `lr` may be a tensor that broadcasts to x: a step per pixel."""

    def __init__(self, x: torch.Tensor, lr: float | torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-8):
        self.x, self.lr, self.betas, self.eps = x, lr, betas, eps
        self.state: dict = {}

    def state_dict(self) -> dict:
        return {k: v.clone() for k, v in self.state.items()}

    def load_state_dict(self, state: dict) -> None:
        self.state = {k: v.clone() for k, v in state.items()}

    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        (b1, b2), g = self.betas, self.x.grad
        s = self.state
        if not s:
            s.update(step=torch.tensor(0.0), exp_avg=torch.zeros_like(self.x),
                     exp_avg_sq=torch.zeros_like(self.x))
        with torch.no_grad():
            s["step"] += 1
            t = s["step"].item()
            s["exp_avg"].lerp_(g, 1 - b1)
            s["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (s["exp_avg_sq"].sqrt() / math.sqrt(1 - b2 ** t)).add_(self.eps)
            if isinstance(self.lr, torch.Tensor):  # a step size per pixel
                self.x.sub_(self.lr * s["exp_avg"] / denom / (1 - b1 ** t))
            else:
                self.x.addcdiv_(s["exp_avg"], denom, value=-self.lr / (1 - b1 ** t))
        return loss


class LBFGS:
    """L-BFGS (Nocedal 1980; Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.4) on one
    tensor x, one iteration per step():

        d = -H g   (the two-loop recursion over the last `history` pairs s = x' - x, y = g' - g,
                    H_0 = (s.y / y.y) I),
        x <- x + t d

    with t = 1, or from a strong-Wolfe line search (`line_search`, Alg. 3.5-3.6: it may start
    from noise, at up to `max_evals` evaluations a step). The first step moves the steepest
    pixel by FIRST_STEP grey levels: the classic 1/|g|_1 moves no pixel measurably at these loss
    scales, and its curvature pair is rounding noise. A pair is kept only where s.y > 1e-10 (a
    pair of negative curvature would make H indefinite). Unconstrained: x is not clamped, which
    would spoil the pairs.

    `diagonal` (a step number, or None): from that step on, H_0 = gamma D instead of gamma I, each
    pixel's own scale from the gradient's running second moment, as Adam takes it (a diagonal
    H_0, as Gilbert & Lemarechal 1989 scale theirs):

        v <- b v + (1 - b) g^2,   D = (v / mean(v) + floor)^(-1/2),   gamma = s.y / (y.D.y)

    A style's gradient is large on the photo's edges and small on its flat parts; one scalar
    gamma sizes every step for the steepest pixels, and the flat ones barely move. Early on, while
    the coarse structure still moves, the scalar did better (measured)."""

    def __init__(self, x: torch.Tensor, history: int = 100, line_search: bool = False,
                 max_evals: int = 20, first_step: float = FIRST_STEP, diagonal: int | None = None):
        self.x, self.history, self.line_search = x, history, line_search
        self.max_evals, self.first_step, self.diagonal = max_evals, first_step, diagonal
        self.second_moment: torch.Tensor | None = None  # v of the diagonal H_0
        self.steps = 0  # taken since the start or the last reset
        self.pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / s.y)
        self.state: dict = {}  # after a step: the step taken and the gradient it started from
        self.known = None  # (x, loss, grad) where the line search left x: evaluated already

    def reset(self) -> None:
        """Forget the curvature pairs (the objective changed): the next step starts afresh."""
        self.pairs, self.state, self.known, self.second_moment, self.steps = [], {}, None, None, 0

    def state_dict(self) -> dict:
        known = None if self.known is None else [self.known[0], torch.tensor(self.known[1], dtype=torch.float64),
                                                 self.known[2]]
        return {"pairs": [[s, y, torch.tensor(rho, dtype=torch.float64)] for s, y, rho in self.pairs],
                "state": dict(self.state), "known": known, "second_moment": self.second_moment,
                "steps": self.steps}

    def load_state_dict(self, d: dict) -> None:
        self.second_moment, self.steps = d.get("second_moment"), int(d.get("steps", 0))
        self.pairs = [(s, y, float(rho)) for s, y, rho in d["pairs"]]
        self.state = dict(d["state"])
        self.known = None if d["known"] is None else (d["known"][0], float(d["known"][1]), d["known"][2])

    def _evaluate(self, closure) -> tuple[float, torch.Tensor]:
        known = self.known
        if known is not None and torch.equal(self.x, known[0]):
            self.x.grad = known[2].view_as(self.x).clone()
            return known[1], known[2]
        with torch.enable_grad():
            loss = closure().detach().item()
        return loss, self.x.grad.detach().flatten().clone()

    def step(self, closure) -> float:
        loss, g = self._evaluate(closure)
        self.steps += 1
        if self.diagonal is not None:
            v = self.second_moment
            self.second_moment = g * g if v is None else v.mul_(DIAGONAL_MEMORY).addcmul_(g, g, value=1 - DIAGONAL_MEMORY)
        if "step" in self.state:  # the pair the last step made
            s, y = self.state["step"], g - self.state["grad"]
            sy = float(s.dot(y))
            if sy > 1e-10:
                self.pairs = (self.pairs + [(s, y, 1.0 / sy)])[-self.history:]
        d = self._direction(g)
        gtd = float(g.dot(d))
        if gtd >= 0:  # not a descent direction (rounding at a minimum): nothing to do
            return loss
        t = 1.0 if self.pairs else self.first_step / max(float(d.abs().max()), 1e-30)
        x0 = self.x.detach().flatten().clone()
        if self.line_search:
            t, f, g_new = _strong_wolfe(self._along(closure, x0, d), d, t, loss, g, gtd, self.max_evals)
            if t == 0.0:  # no trial went lower: start again from steepest descent
                self.reset()
                return loss
            self.known = (self.x.detach().clone(), f, g_new)
        else:
            self._move(x0, t, d)
        self.state = {"step": t * d, "grad": g}
        return loss

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        """-H g by the two-loop recursion."""
        q = g.neg()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s.dot(q))
            q.add_(y, alpha=-a)
            alphas.append(a)
        D = self._h0_diagonal()
        if D is not None:
            q.mul_(D)
        if self.pairs:
            s, y, rho = self.pairs[-1]
            yHy = y.dot(y) if D is None else (y * D).dot(y)
            q.mul_(1.0 / (rho * float(yHy)))  # H_0 = (s.y / y.H_0 y) H_0, H_0 = I or D
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            q.add_(s, alpha=a - rho * float(y.dot(q)))
        return q

    def _h0_diagonal(self) -> torch.Tensor | None:
        """D of the diagonal H_0 (see the class), or None for the textbook's identity."""
        v = self.second_moment
        if v is None or self.diagonal is None or self.steps < self.diagonal:
            return None
        return (v / v.mean().clamp_min(1e-30)).add_(DIAGONAL_FLOOR).rsqrt_()

    def _move(self, x0: torch.Tensor, t: float, d: torch.Tensor) -> None:
        with torch.no_grad():
            self.x.copy_((x0 + t * d).view_as(self.x))

    def _along(self, closure, x0: torch.Tensor, d: torch.Tensor):
        """The line search's view of the objective: phi(t) = (f, grad) at x0 + t d, where x
        is left; phi(t, evaluate=False) only moves x there."""
        def phi(t: float, evaluate: bool = True):
            self._move(x0, t, d)
            if not evaluate:
                return None
            with torch.enable_grad():
                f = closure().detach().item()
            return f, self.x.grad.detach().flatten().clone()
        return phi


def _cubic_min(t0, f0, g0, t1, f1, g1, lo, hi) -> float:
    """The minimiser of the cubic through (t0, f0, f'0) and (t1, f1, f'1), kept within [lo, hi];
    the middle where the cubic has none (Nocedal & Wright, eq. 3.59)."""
    if t0 == t1:
        return (lo + hi) / 2
    d1 = g0 + g1 - 3 * (f0 - f1) / (t0 - t1)
    disc = d1 * d1 - g0 * g1
    if disc < 0:
        return (lo + hi) / 2
    d2 = math.copysign(math.sqrt(disc), t1 - t0)
    t = t1 - (t1 - t0) * (g1 + d2 - d1) / (g1 - g0 + 2 * d2)
    return min(max(t, lo), hi) if math.isfinite(t) else (lo + hi) / 2


def _strong_wolfe(phi, d: torch.Tensor, t: float, f0: float, g0: torch.Tensor, gtd0: float,
                  max_evals: int, c1: float = 1e-4, c2: float = 0.9):
    """A step t along d with f(t) <= f0 + c1 t f'(0) and |f'(t)| <= c2 |f'(0)|: Nocedal & Wright's
    Alg. 3.5 brackets it, Alg. 3.6 zooms in, each trial the minimiser of a cubic. Returns
    (t, f(t), grad(t)) with x left at x0 + t d: the point found, else the lowest tried, else
    (0, f0, g0) where no trial went lower."""
    d_max = float(d.abs().max())
    best, prev = (0.0, f0, g0), (0.0, f0, gtd0)
    lo = hi = None  # the bracket's ends (t, f, f'): lo the lower, satisfying sufficient decrease
    for k in range(max_evals):
        if lo is not None:
            a, b = sorted((lo[0], hi[0]))
            if (b - a) * d_max < 1e-9:  # the bracket moves no pixel any more
                break
            t = _cubic_min(*lo, *hi, a + 0.1 * (b - a), b - 0.1 * (b - a))
        f, g = phi(t)
        gtd = float(g.dot(d))
        if f < best[1]:
            best = (t, f, g)
        armijo = f <= f0 + c1 * t * gtd0
        if armijo and abs(gtd) <= -c2 * gtd0:
            return t, f, g
        if lo is None:  # bracketing (Alg. 3.5)
            if not armijo or (k > 0 and f >= prev[1]):
                lo, hi = prev, (t, f, gtd)
            elif gtd >= 0:
                lo, hi = (t, f, gtd), prev
            else:
                prev, t = (t, f, gtd), _cubic_min(*prev, t, f, gtd, t + 0.01 * (t - prev[0]), 10 * t)
        elif not armijo or f >= lo[1]:  # zoom (Alg. 3.6)
            hi = (t, f, gtd)
        else:
            if gtd * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = (t, f, gtd)
    phi(best[0], evaluate=False)
    return best


def make_optimizer(name: str, x: torch.Tensor, lr: float | torch.Tensor, history: int = 100,
                   diagonal: int | None = None):
    """'adam'; 'polish': L-BFGS as the textbook runs it (no line search, one evaluation per step,
    history 100), after Adam has painted the picture; 'lbfgs': L-BFGS with a strong-Wolfe line
    search (history 50), which may start from noise. `history` caps L-BFGS's curvature pairs
    (a picture too large for 100 of them in memory keeps fewer); `diagonal`: the step from which
    L-BFGS's H_0 takes each pixel's own gradient scale (LBFGS), None: never."""
    if name == "adam":
        return Adam(x, lr)
    if name == "polish":
        return LBFGS(x, history=min(100, history), diagonal=diagonal)
    return LBFGS(x, history=min(50, history), line_search=True, diagonal=diagonal)

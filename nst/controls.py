"""Live controls: knobs another thread turns while stylize() runs (the app's sliders).

The engine reads them once per step, before the step, so a change shapes the very next step;
the optimiser state and the pyramid are kept. Each change bumps `version`; frames list the
step from which each version was in effect (Frame.steered), so a loss curve can mark it.

A value is checked by the rules of the run's own parameters: the run's Settings with the knobs
put in (the ratio as content_weight = ratio x style_weight) must pass Settings.validate within
the same Limits the run was checked by (a server's caps; the library's own bounds by default).
"""
from __future__ import annotations

import math
import threading
from typing import Sequence

from .settings import LAYERS, Limits, Settings


class Controls:
    """Thread-safe: alpha/beta `ratio`, style-layer weights w_l (`layer_weights`, one per style
    layer of the run) and `style_blend` (one weight per painting; with mask_mode 'split' each
    painting has its own region and the blend has no effect). None leaves the run's Settings in
    charge of that knob. `settings` and `limits`: the run's own, as in bind()."""

    def __init__(self, ratio: float | None = None, layer_weights: Sequence[float] | None = None,
                 style_blend: Sequence[float] | None = None, *, settings: Settings | None = None,
                 limits: Limits | None = None):
        self._lock = threading.Lock()
        self._values = {"ratio": None, "layer_weights": None, "style_blend": None}
        self._shape = None  # (n style layers, n paintings) of the run they are bound to
        self._settings, self._limits = settings, limits
        self.version = 0
        if ratio is not None or layer_weights is not None or style_blend is not None:
            self.set(ratio=ratio, layer_weights=layer_weights, style_blend=style_blend)

    def bind(self, n_layers: int, n_styles: int, settings: Settings | None = None,
             limits: Limits | None = None) -> None:
        """Called by stylize() with the run's shape: later set() calls are checked against it.
        A server binds first with the run's Settings and its Limits too (run.Steering), so a
        slider's value meets the very rules (Settings.validate, those Limits) the run's own
        parameters met; a later bind without them keeps them."""
        with self._lock:
            self._shape = (n_layers, n_styles)
            self._settings = settings if settings is not None else self._settings
            self._limits = limits if limits is not None else self._limits
            if any(v is not None for v in self._values.values()):  # knobs set before the run
                self._check(self._values)

    def set(self, **changes) -> int:
        """Change some knobs (ratio=, layer_weights=, style_blend=); returns the new version.
        Raises ValueError (a sentence naming the knob), leaving the knobs as they were, for a
        value the run's own parameters could not have."""
        unknown = set(changes) - set(self._values)
        if unknown:
            raise ValueError(f"unknown control {sorted(unknown)[0]!r}; controls are "
                             f"{', '.join(self._values)}")
        with self._lock:
            values = dict(self._values)
            for k, v in changes.items():
                values[k] = v if v is None or k == "ratio" else _numbers(k, v)
            self._check(values)
            self._values = values
            self.version += 1
            return self.version

    def read(self) -> tuple[int, dict]:
        """(version, {knob: value or None}) as one consistent snapshot."""
        with self._lock:
            return self.version, dict(self._values)

    def _check(self, v: dict) -> None:
        """The run's Settings with these knobs in must pass Settings.validate(limits)."""
        s = self._settings or Settings()
        n_layers, n_styles = self._shape or (None, None)
        if self._settings is None:  # the library, no Settings given: only the run's shape
            n = n_layers if n_layers is not None else len(v["layer_weights"] or s.style_layers)
            s = s.replace(style_layers=LAYERS[:n])
        if n_styles is None:  # not bound yet: the painting count is not known
            n_styles = len(v["style_blend"]) if v["style_blend"] is not None else 1
        changes = {k: v[k] for k in ("layer_weights", "style_blend") if v[k] is not None}
        r = v["ratio"]
        if r is not None:
            # live controls keep both losses on (stylize() refuses a weight of 0 with controls)
            if not (isinstance(r, (int, float)) and not isinstance(r, bool) and 0 < r < math.inf):
                raise ValueError(f"ratio (alpha/beta) must be a finite number > 0, got {r!r}")
            changes["content_weight"] = r * s.style_weight
        s.replace(**changes).validate(n_styles=n_styles, limits=self._limits)


def _numbers(name: str, values) -> tuple:
    try:
        return tuple(float(w) for w in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers, got {values!r}") from None

"""Live controls: knobs another thread turns while stylize() runs (the app's sliders).

The engine reads them once per step, before the step, so a change shapes the very next step;
the optimiser state and the pyramid are kept. Each change bumps `version`; frames list the
step from which each version was in effect (Frame.steered), so a loss curve can mark it.
"""
from __future__ import annotations

import math
import threading
from typing import Sequence


class Controls:
    """Thread-safe: alpha/beta `ratio`, style-layer weights w_l (`layer_weights`, one per style
    layer of the run) and `style_blend` (one weight per painting; with mask_mode 'split' each
    painting has its own region and the blend has no effect). None leaves the run's Settings in
    charge of that knob."""

    def __init__(self, ratio: float | None = None, layer_weights: Sequence[float] | None = None,
                 style_blend: Sequence[float] | None = None):
        self._lock = threading.Lock()
        self._values = {"ratio": None, "layer_weights": None, "style_blend": None}
        self._shape = None  # (n style layers, n paintings) of the run they are bound to
        self.version = 0
        if ratio is not None or layer_weights is not None or style_blend is not None:
            self.set(ratio=ratio, layer_weights=layer_weights, style_blend=style_blend)

    def bind(self, n_layers: int, n_styles: int) -> None:
        """Called by stylize(): later set() calls are checked against this run's shape."""
        with self._lock:
            self._shape = (n_layers, n_styles)
            self._check(self._values)

    def set(self, **changes) -> int:
        """Change some knobs (ratio=, layer_weights=, style_blend=); returns the new version.
        Raises ValueError, leaving the knobs as they were, for a value the run cannot use."""
        unknown = set(changes) - set(self._values)
        if unknown:
            raise ValueError(f"unknown control {sorted(unknown)[0]!r}; controls are "
                             f"{', '.join(self._values)}")
        with self._lock:
            values = dict(self._values)
            for k, v in changes.items():
                values[k] = v if v is None or k == "ratio" else tuple(float(w) for w in v)
            self._check(values)
            self._values = values
            self.version += 1
            return self.version

    def read(self) -> tuple[int, dict]:
        """(version, {knob: value or None}) as one consistent snapshot."""
        with self._lock:
            return self.version, dict(self._values)

    def _check(self, v: dict) -> None:
        r = v["ratio"]
        if r is not None and not (isinstance(r, (int, float)) and 0 < r < math.inf):
            raise ValueError(f"ratio (alpha/beta) must be a finite number > 0, got {r!r}")
        for name, what, i in (("layer_weights", "style layer", 0), ("style_blend", "painting", 1)):
            w = v[name]
            if w is None:
                continue
            if not all(x >= 0 and math.isfinite(x) for x in w) or not any(x > 0 for x in w):
                raise ValueError(f"{name} must be finite numbers >= 0, not all 0; got {list(w)}")
            if self._shape is not None and len(w) != self._shape[i]:
                raise ValueError(f"{name} has {len(w)} values but the run has "
                                 f"{self._shape[i]} {what}s")

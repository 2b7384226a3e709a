"""Progress display: the time-left clock, the status and details lines, and the loss chart."""
from __future__ import annotations

import json
import math

from gradio.components.plot import PlotData

from ..engine import Frame, FrameInfo

TERMS = ("content", "style", "total")
COLOURS = {"content": "#2563eb", "style": "#d97706", "total": "#dc2626"}
STEER_COLOUR = "#7c3aed"  # where a slider moved during the run
LEGEND = {"content": "content (unlike the photo)", "style": "style (unlike the painting)",
          "total": "total (what is minimised)"}
MAX_POINTS = 240  # per line: enough for a smooth curve, small enough to send 3 times a second
PRECISION_WORDS = {"bf16": "16-bit (bf16) arithmetic", "fp32": "32-bit (fp32) arithmetic"}
OPTIMIZER_WORDS = {"adam": "Adam optimiser", "lbfgs": "L-BFGS optimiser (the paper's)",
                   "adam+lbfgs": "Adam, then L-BFGS (the paper's) at full size"}


class Clock:
    """s/step at this level, and the time left as the engine predicts it (FrameInfo.left: the
    deadline's own countdown under a budget, so it never jumps up at a level change)."""

    def __init__(self):
        self.mark = (0, 0, 0.0)  # level, step, elapsed when this level was first seen
        self.prev = (0, 0.0)  # step, elapsed of the previous frame

    def __call__(self, f: Frame) -> tuple[float, float]:
        if f.scale != self.mark[0]:
            self.mark = (f.scale, *self.prev)
        self.prev = (f.step, f.elapsed)
        _, step0, t0 = self.mark
        return (f.elapsed - t0) / max(1, f.step - step0), f.info.left


def status(f: Frame, clock: Clock, note: str = "", ending: str = "Done") -> tuple[str, str]:
    """(status line, details line) in a visitor's words: size, step and time left first; level,
    speed, device, precision and optimiser below."""
    per_step, left = clock(f)
    i = f.info
    # the final size, from the photo itself (an enlarged coarse level can round one pixel off)
    w, h = f.image.size if f.done else i.full_size
    device = {"cpu": "CPU", "cuda": "GPU", "mps": "Apple GPU"}.get(i.device.split(":")[0], "?")
    how = " · ".join(x for x in (device, PRECISION_WORDS.get(i.precision, ""),
                                 OPTIMIZER_WORDS.get(i.optimizer, "")) if x)
    extra = f"  \n{note}" if note else ""  # e.g. why a panorama got more pixels
    if f.done:
        bold, _, rest = ending.partition(":")
        head = f"**{bold}**{':' + rest if rest else ''} · {w}×{h} px · {f.step} steps in {f.elapsed:.1f} s{extra}"
        return head, f"{per_step:.2f} s per step at the end · {how}{_repeat(i)}{_rate(i)}"
    levels = f.levels > 1
    level = f"{i.side} px at this level · " if levels else ""
    details = f"{level}{per_step:.2f} s per step · {how}"
    if i.stage == "enlarging":  # the targets at the new size are being made: a pause, said
        return (f"**Enlarging** to {i.side} px (level {f.scale + 1} of {f.levels}) · "
                f"{w}×{h} px · about {_seconds(left)} left{extra}", details)
    # a budget re-plans its steps as it goes: what holds is the time and the level, not a total
    where = (f"level {f.scale + 1} of {f.levels} · " if levels else "") + (
        f"step {f.step}" if i.budgeted else f"step {f.step} of {f.total}")
    return f"**Painting** {w}×{h} px · {where} · about {_seconds(left)} left{extra}", details


def _repeat(i: FrameInfo) -> str:
    """The level plan taken and the seed: with size and steps, what repeats the run exactly."""
    if not i.taken:
        return ""
    plan = " + ".join(f"{n} at {sz} px" for sz, n in i.taken)
    return f" · steps {plan}, seed {i.seed}"


def _rate(i: FrameInfo) -> str:
    """How hard the machine worked: achieved FLOP/s at full size, against its best matmul in the
    same precision."""
    if not i.flops_per_s:
        return ""
    mfu = f" ({i.mfu:.0%} of its {i.precision} matmul peak)" if i.mfu else ""
    return f" · {i.flops_per_s / 1e9:.0f} GFLOP/s{mfu}"


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min"


class LossCurve:
    """Each loss relative to its first value, on a log axis. Within a pyramid level that is just
    progress; a finer level starts from an upsampled, blurrier picture whose raw losses are
    higher (a different image size, not a setback), so each level is scaled to continue from
    where the previous one ended, and the level changes are marked."""

    def __init__(self):
        self.rows: list[dict] = []  # {'step', 'term', 'value'}
        self.levels: list[dict] = []  # {'step', 'label'}: where each finer level starts
        self.steers: list[dict] = []  # {'step', 'label'}: where a moved slider took effect
        self._level, self._base, self._carry = None, {}, {t: 1.0 for t in TERMS}

    def add(self, f: Frame) -> None:
        if f.scale != self._level:
            if self._level is not None:
                label = f"{f.info.side} px"
                self.levels.append({"step": f.step, "label": label})
            self._level, self._base = f.scale, {}
        for t in TERMS:
            v = f.losses.get(t)
            if v is None or not math.isfinite(v) or v <= 0:  # a log axis has no 0
                continue
            base = self._base.setdefault(t, v / self._carry[t])
            self._carry[t] = v / base
            self.rows.append({"step": f.step, "term": t, "value": v / base})
        if len(self.rows) > 2 * MAX_POINTS * len(TERMS):
            self._thin()

    def steered(self, changes) -> None:
        """Mark each (step, what changed) not marked yet."""
        seen = {m["step"] for m in self.steers}
        self.steers += [{"step": step, "label": said} for step, said in changes if step not in seen]

    def _thin(self) -> None:
        """Halve the older points (every other frame), keeping the newest and each level's first."""
        starts = {lv["step"] for lv in self.levels}
        steps = sorted({r["step"] for r in self.rows})
        keep = set(steps[::2]) | set(steps[-MAX_POINTS // 4:]) | starts | {steps[0]}
        self.rows = [r for r in self.rows if r["step"] in keep]

    def _decades(self) -> list[float]:
        """Axis ticks at the powers of ten the lines span (a log axis otherwise grids every digit)."""
        values = [r["value"] for r in self.rows]
        lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        return [10.0 ** k for k in range(lo, hi + 1)]

    def chart(self, total_steps: int) -> PlotData | None:
        """A Vega-Lite spec for gr.Plot: three lines, legend inside the frame, level changes
        as dotted rules with their size."""
        if not self.rows:
            return None
        x = {"field": "step", "type": "quantitative", "title": "step",
             "scale": {"domain": [0, max(total_steps, 1)], "nice": False}}
        legend = {"orient": "bottom-left", "title": None, "fillColor": "rgba(255,255,255,0.85)",
                  "padding": 4, "labelLimit": 260, "symbolStrokeWidth": 3}
        scale = {"domain": list(TERMS), "range": [COLOURS[t] for t in TERMS]}
        layers = [{
            "data": {"values": [{**r, "name": LEGEND[r["term"]]} for r in self.rows]},
            "mark": {"type": "line", "strokeWidth": 2.2, "clip": True, "interpolate": "monotone"},
            "encoding": {
                "x": x,
                "y": {"field": "value", "type": "quantitative", "title": "relative to the start",
                      "scale": {"type": "log"}, "axis": {"format": "~g", "values": self._decades()}},
                "color": {"field": "name", "type": "nominal", "legend": legend,
                          "scale": {"domain": [LEGEND[t] for t in TERMS], "range": scale["range"]}},
                "strokeDash": {"field": "name", "type": "nominal", "legend": legend,
                               "scale": {"domain": [LEGEND[t] for t in TERMS],
                                         "range": [[1, 0], [1, 0], [6, 3]]}},
                "order": {"field": "step", "type": "quantitative"},
            }}]
        if self.levels:
            marks = {"values": self.levels}
            layers += [
                {"data": marks, "mark": {"type": "rule", "strokeDash": [2, 3], "color": "#9ca3af"},
                 "encoding": {"x": {**x, "field": "step"}}},
                {"data": marks, "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3,
                                         "y": 3, "color": "#6b7280", "fontSize": 11},
                 "encoding": {"x": {**x, "field": "step"}, "text": {"field": "label"}}},
            ]
        if self.steers:  # solid violet rules, labelled at the foot of the chart
            marks = {"values": self.steers}
            layers += [
                {"data": marks, "mark": {"type": "rule", "color": STEER_COLOUR, "strokeWidth": 1.5},
                 "encoding": {"x": {**x, "field": "step"}}},
                {"data": marks, "mark": {"type": "text", "align": "left", "baseline": "bottom", "dx": 3,
                                         "y": {"expr": "height - 3"}, "color": STEER_COLOUR,
                                         "fontSize": 11},
                 "encoding": {"x": {**x, "field": "step"}, "text": {"field": "label"}}},
            ]
        spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": "container",
                "height": 200, "layer": layers,
                "title": {"text": "How the losses fall", "anchor": "start", "fontSize": 13,
                          "subtitle": "each relative to its start, log scale; lower = closer"}}
        return PlotData(type="altair", plot=json.dumps(spec, separators=(",", ":")))


def chart_rows(plot) -> list[dict]:
    """The (step, term, value) rows drawn by a chart made by LossCurve.chart (for tests and API
    callers: the chart's value as the API returns it)."""
    spec = plot if isinstance(plot, dict) and "layer" in plot else json.loads(
        plot["plot"] if isinstance(plot, dict) else plot.plot)
    return spec["layer"][0]["data"]["values"]

"""Runs and Stop: each session's running runs and their cancel Events, the live sliders that
reach a running picture, and the run itself on this machine's device (ZeroGPU included)."""
from __future__ import annotations

import math
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager

import gradio as gr

from ..controls import Controls
from ..engine import stylize
from ..settings import STYLE_LAYERS
from . import limits


# ---------------------------------------------------------------------------- Stop
class Runs:
    """Each session's running runs, each with its own cancel Event, and when the session last
    pressed Paint and Stop. Stop sets every Event of the session, so a second Paint click can never
    leave a run that Stop no longer reaches; a run that starts after a Stop pressed since the
    latest Paint (it waited in the queue) starts stopped. Times rather than Events for waiting
    runs: Gradio may drop a click whose event is already pending, and a time cannot leak."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: dict[str, set[threading.Event]] = defaultdict(set)
        self._asked: dict[str, float] = {}  # session -> when Paint was last pressed
        self._stopped: dict[str, float] = {}  # session -> when Stop was last pressed

    def arm(self, session: str) -> None:
        """Paint was pressed (and passed its check): a Stop from now on reaches its run."""
        with self._lock:
            self._asked[session] = time.monotonic()
            self._forget_old()

    @contextmanager
    def run(self, session: str | None):
        """The cancel Event of the run starting now, registered while it runs."""
        session = session or uuid.uuid4().hex
        cancel = threading.Event()
        with self._lock:
            if self._stopped.get(session, -1.0) > self._asked.get(session, 0.0):
                cancel.set()  # Stop was pressed while this run waited for its turn
            self._running[session].add(cancel)
        try:
            yield cancel
        finally:
            with self._lock:
                self._running[session].discard(cancel)
                if not self._running[session]:
                    del self._running[session]

    def stop(self, session: str) -> None:
        with self._lock:
            self._stopped[session] = time.monotonic()
            events = list(self._running.get(session, ()))
        for ev in events:
            ev.set()

    def count(self) -> int:
        """Runs painting now (for tests and monitoring)."""
        with self._lock:
            return sum(map(len, self._running.values()))

    def _forget_old(self, age: float = 3600.0) -> None:
        old = time.monotonic() - age
        for table in (self._asked, self._stopped):
            for k in [k for k, t in table.items() if t < old]:
                del table[k]


RUNS = Runs()


def session_of(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)


# ---------------------------------------------------------------------------- the run on the device
def gpu_seconds(content, styles, settings, *args, **kwargs) -> int:
    """What a ZeroGPU run asks for: its own budget plus start-up, not a fixed maximum (a shorter
    request is granted sooner); a run without a budget asks for the safety cap."""
    return int(min(settings.seconds or limits.MAX_SECONDS, limits.MAX_SECONDS) + limits.START_UP)


def on_device(fn, duration=gpu_seconds):
    """On ZeroGPU the run holds a GPU for its own time (`duration(*args)`: gpu_seconds for a
    picture); elsewhere spaces.GPU is a no-op."""
    return limits.spaces.GPU(duration=duration)(fn) if limits.spaces is not None else fn


@on_device
def frames(content, styles, settings, cancel, init_image=None, mask=None, controls=None,
           started=None, reserve=0.0):
    # Frames carry PIL images, so this also works when ZeroGPU runs it in another process; all at
    # the final size, so the picture on the page never changes size mid-run.
    yield from stylize(content, styles, settings, cancel=cancel, init_image=init_image, mask=mask,
                       controls=controls, started=started, reserve=reserve, limit=limits.MAX_SECONDS,
                       max_size=limits.LIMITS.max_size, full_frames=True)


# ---------------------------------------------------------------------------- live sliders
class Steering:
    """One run's live knobs: the engine's Controls, the values last sent, and a sentence per
    version so the page can say what changed and from which step."""

    def __init__(self, settings, n_styles: int):
        self.controls, self.said, self.n_styles = Controls(), {}, n_styles
        # a slider's value meets the rules the run's own parameters met: Settings.validate with
        # this server's LIMITS, on the run's Settings with the knobs put in
        self.controls.bind(len(settings.style_layers), n_styles, settings, limits.LIMITS)
        self.last = {"ratio": settings.ratio, "layer_weights": tuple(settings.layer_weights or ()),
                     "style_blend": settings.style_blend}

    def move(self, ratio: float, layer_weights: tuple, blend: tuple) -> None:
        """The sliders' values: what differs from the last ones reaches the run's next step.
        ValueError (a sentence) for values the run cannot take."""
        knobs = {"ratio": ratio, "layer_weights": layer_weights,
                 "style_blend": blend[: self.n_styles] if self.n_styles > 1 else None}
        said = []
        if not math.isclose(ratio, self.last["ratio"], rel_tol=1e-6):
            said.append(f"photo against painting → 10^{math.log10(ratio):.1f}")
        said += [f"{l} → {w:g}" for l, w, o in zip(STYLE_LAYERS, layer_weights, self.last["layer_weights"])
                 if w != o]
        if knobs["style_blend"] and knobs["style_blend"] != self.last["style_blend"]:
            said.append("blend → " + ":".join(f"{b:g}" for b in knobs["style_blend"]))
        if said:
            self.said[self.controls.set(**knobs)] = ", ".join(said)
            self.last = knobs

    def changes(self, steered: tuple) -> list[tuple[int, str]]:
        """[(step, what changed)] for the versions a frame reports as taken up."""
        return [(step, self.said.get(version, "a slider moved")) for step, version in steered]


class Steerings:
    """Session -> the Steering of its running run (the sliders' events reach it like Stop)."""

    def __init__(self):
        self._lock, self._by_session = threading.Lock(), {}

    @contextmanager
    def run(self, session: str | None, settings, n_styles: int):
        steering = Steering(settings, n_styles)
        with self._lock:
            if session:
                self._by_session[session] = steering
        try:
            yield steering
        finally:
            with self._lock:
                if session and self._by_session.get(session) is steering:
                    del self._by_session[session]

    def get(self, session: str | None) -> Steering | None:
        with self._lock:
            return self._by_session.get(session)


STEERINGS = Steerings()

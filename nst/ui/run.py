"""Run control: what one visitor may ask of the machine, Stop, the wall-clock limit, ZeroGPU,
refusals as sentences, and the temporary PNGs offered for download."""
from __future__ import annotations

import math
import os
import tempfile
import threading
import time
import traceback
import uuid
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

try:  # ZeroGPU on Hugging Face Spaces (app.py imports it before torch, as it must be)
    import spaces
except ImportError:
    spaces = None

import gradio as gr
from PIL import Image

from .. import machine
from ..controls import Controls
from ..engine import stylize
from ..intake import ImageError, open_image
from ..settings import PRESETS, STYLE_LAYERS, Limits, Settings

DEVICE = machine.resolve_device("auto").type  # 'cpu' | 'cuda' | 'mps'
# The same test as the spaces package's own (SPACES_ZERO_GPU = 1 / t / true).
ON_ZEROGPU = spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
GPU = DEVICE != "cpu" or ON_ZEROGPU

# What one visitor may ask of a shared machine; Settings.validate enforces them.
LIMITS = Limits(min_size=64, max_size=1536 if GPU else 768, max_steps=2000 if GPU else 800,
                lr=(0.1, 50.0), ratio=(1e-8, 1e2), style_scale=(0.25, 2.0), max_tv_weight=10.0,
                max_layer_weight=1.0, max_blend=1.0, max_seed=2**31 - 1,
                max_seconds=float(os.environ.get("NST_MAX_SECONDS", 120 if GPU else 180)))
# The safety net: no run, budgeted or not, holds the machine longer than this (wall clock, from
# the click); the engine cuts a run that would overrun it and still ends at full size.
MAX_SECONDS = LIMITS.max_seconds
FRAME_SECONDS = 0.3  # a frame at least this often: 2-5 frames/s on any device, and prompt Stop
QUEUE_SIZE = int(os.environ.get("NST_QUEUE_SIZE", 20))
MAX_FILE_MB = 15
WORK_SIDE = 2048  # inputs are shrunk to this long side on arrival (the engine resizes anyway)
_OUT_DIR = Path(tempfile.gettempdir()) / "nst-app"  # results wait here to be served (Gradio copies them)


# ---------------------------------------------------------------------------- refusals
def sentence(err: Exception) -> str:
    """A ValueError's text as a sentence: capital first letter, full stop."""
    s = str(err).strip()
    s = s[:1].upper() + s[1:]
    return s if s.endswith((".", "!", "?")) else s + "."


def refuse(err: Exception, title: str = "Please check the settings") -> gr.Error:
    return gr.Error(sentence(err), title=title, print_exception=False)


def picture(name: str, path, required: bool = True, max_side: int = WORK_SIDE) -> Image.Image | None:
    """An uploaded image, or ValueError with a sentence that names which one was refused."""
    if path in (None, ""):
        if required:
            raise ValueError(f"please add {name}")
        return None
    try:
        img = open_image(path, max_side=max_side)  # big JPEGs decode at 1/2..1/8 scale
    except ImageError as e:
        raise ImageError(f"{name[:1].upper()}{name[1:]}: {e}", e.reason) from None
    return img


def upload_note(path) -> str:
    """Checked the moment a file lands in an image box: '' if it is fine, else the sentence."""
    if path in (None, ""):
        return ""
    try:
        open_image(path, max_side=64)
    except ImageError as e:
        return f"⚠️ {e}"
    return ""


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


# ---------------------------------------------------------------------------- running
START_UP = 15.0  # s a ZeroGPU call may spend before the run starts (its GPU, the weights)


def gpu_seconds(content, styles, settings, *args, **kwargs) -> int:
    """What a ZeroGPU run asks for: its own budget plus start-up, not a fixed maximum (a shorter
    request is granted sooner); a run without a budget asks for the safety cap."""
    return int(min(settings.seconds or MAX_SECONDS, MAX_SECONDS) + START_UP)


def on_device(fn, duration=gpu_seconds):
    """On ZeroGPU the run holds a GPU for its own time (`duration(*args)`: gpu_seconds for a
    picture); elsewhere spaces.GPU is a no-op."""
    return spaces.GPU(duration=duration)(fn) if spaces is not None else fn


@on_device
def frames(content, styles, settings, cancel, init_image=None, mask=None, controls=None,
           started=None, reserve=0.0):
    # Frames carry PIL images, so this also works when ZeroGPU runs it in another process; all at
    # the final size, so the picture on the page never changes size mid-run.
    yield from stylize(content, styles, settings, cancel=cancel, init_image=init_image, mask=mask,
                       controls=controls, started=started, reserve=reserve, limit=MAX_SECONDS,
                       max_size=LIMITS.max_size, full_frames=True)


# ---------------------------------------------------------------------------- budgets
REFERENCE_PHOTO = (1536, 1024)  # a 3:2 photo: what the preset labels quote sizes for


def speed() -> machine.Speed:
    """This machine's measured speed (calibrated at start-up, cached, refreshed by every run)."""
    return machine.speed(DEVICE)


def planned(name: str, wh=REFERENCE_PHOTO) -> machine.Plan:
    """What a preset buys on this machine for a photo of size wh."""
    s = Settings(seconds=PRESETS[name])
    return machine.plan(s, wh, PRESETS[name] - FINISH.seconds, speed(), max_size=LIMITS.max_size)


class Finish:
    """Seconds the page needs after the final frame (PNG, time-lapse, the last update), measured
    on every run: a budget is kept to the final picture on the page, not to the engine's end."""

    def __init__(self, seconds: float = 1.0):
        self.seconds, self._lock = seconds, threading.Lock()

    def measured(self, seconds: float) -> None:
        with self._lock:
            self.seconds = 0.5 * self.seconds + 0.5 * min(max(seconds, 0.1), 10.0)


FINISH = Finish()


# ---------------------------------------------------------------------------- live sliders
class Steering:
    """One run's live knobs: the engine's Controls, the values last sent, and a sentence per
    version so the page can say what changed and from which step."""

    def __init__(self, settings, n_styles: int):
        self.controls, self.said, self.n_styles = Controls(), {}, n_styles
        # a slider's value meets the rules the run's own parameters met: Settings.validate with
        # this server's LIMITS, on the run's Settings with the knobs put in
        self.controls.bind(len(settings.style_layers), n_styles, settings, LIMITS)
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


def failure(err: Exception) -> gr.Error:
    """What the visitor reads when a run breaks; the cause stays in the server log."""
    if isinstance(err, (ValueError, FloatingPointError)):
        return gr.Error(sentence(err), title="The run stopped", print_exception=False)
    if "out of memory" in str(err).lower():
        return gr.Error("The machine ran out of memory; try a smaller size.", title="Out of memory")
    traceback.print_exception(err)  # the cause stays in the server log; the visitor gets a sentence
    return gr.Error("This run failed on the server; please try a smaller size or other images.",
                    title="The run stopped")


def out_path(name: str, suffix: str) -> Path:
    """A fresh file name for a result to serve: `name`-<random>`suffix` in this app's folder."""
    _OUT_DIR.mkdir(exist_ok=True)
    return _OUT_DIR / f"{name}-{uuid.uuid4().hex[:8]}{suffix}"


def save_png(img: Image.Image) -> str:
    path = out_path(f"stylized-{img.width}x{img.height}", ".png")
    img.save(path)
    return str(path)


def save_timelapse(lapse) -> str:
    return str(lapse.write(out_path("timelapse", ".webp")))



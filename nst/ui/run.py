"""Run control: what one visitor may ask of the machine, Stop, the wall-clock limit, ZeroGPU,
refusals as sentences, and the temporary PNGs offered for download."""
from __future__ import annotations

import os
import tempfile
import threading
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

from ..engine import resolve_device, stylize
from ..intake import ImageError, open_image
from ..settings import Limits

DEVICE = resolve_device("auto").type  # 'cpu' | 'cuda' | 'mps'
# The same test as the spaces package's own (SPACES_ZERO_GPU = 1 / t / true).
ON_ZEROGPU = spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
GPU = DEVICE != "cpu" or ON_ZEROGPU
DEVICE_KIND = "cuda" if GPU else "cpu"  # which presets apply

# What one visitor may ask of a shared machine; Settings.validate enforces them.
LIMITS = Limits(min_size=64, max_size=1536 if GPU else 768, max_steps=2000 if GPU else 800,
                lr=(0.1, 50.0), ratio=(1e-8, 1e2), style_scale=(0.25, 2.0), max_tv_weight=10.0,
                max_layer_weight=1.0, max_blend=1.0, max_seed=2**31 - 1)
MAX_SECONDS = float(os.environ.get("NST_MAX_SECONDS", 120 if GPU else 180))  # wall clock per run
FRAME_SECONDS = 0.3  # a frame at least this often: 2-5 frames/s on any device, and prompt Stop
QUEUE_SIZE = int(os.environ.get("NST_QUEUE_SIZE", 20))
MAX_FILE_MB = 15
WORK_SIDE = 2048  # inputs are shrunk to this long side on arrival (the engine resizes anyway)
_PNG_DIR = Path(tempfile.gettempdir()) / "nst-app"


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
    """Each session's runs, waiting or painting, each with its own cancel Event. Stop sets them
    all, so a second Paint click can never leave a run that Stop no longer reaches."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: dict[str, list[threading.Event]] = defaultdict(list)
        self._running: dict[str, set[threading.Event]] = defaultdict(set)

    def arm(self, session: str) -> None:
        """Paint was pressed: the run it starts gets an Event now, so Stop works while it waits."""
        with self._lock:
            self._waiting[session].append(threading.Event())

    def disarm(self, session: str) -> None:
        """The pressed Paint was refused before it could start: drop its Event."""
        with self._lock:
            if self._waiting.get(session):
                self._waiting[session].pop()

    @contextmanager
    def run(self, session: str | None):
        """The Event of the run starting now (the oldest armed one of its session, or a new one
        for an API call), registered while it runs."""
        session = session or uuid.uuid4().hex
        with self._lock:
            waiting = self._waiting.get(session)
            cancel = waiting.pop(0) if waiting else threading.Event()
            self._running[session].add(cancel)
        try:
            yield cancel
        finally:
            with self._lock:
                self._running[session].discard(cancel)
                for table in (self._running, self._waiting):
                    if not table.get(session):
                        table.pop(session, None)

    def stop(self, session: str) -> int:
        with self._lock:
            events = [*self._waiting.get(session, ()), *self._running.get(session, ())]
        for ev in events:
            ev.set()
        return len(events)

    def count(self) -> int:
        with self._lock:
            return sum(map(len, self._waiting.values())) + sum(map(len, self._running.values()))


RUNS = Runs()


def session_of(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)


# ---------------------------------------------------------------------------- running
def _on_device(fn):
    """On ZeroGPU the run holds a GPU for at most MAX_SECONDS; elsewhere spaces.GPU is a no-op."""
    return spaces.GPU(duration=int(MAX_SECONDS))(fn) if spaces is not None else fn


@_on_device
def frames(content, styles, settings, cancel, init_image=None):
    # Frames carry PIL images, so this also works when ZeroGPU runs it in another process.
    yield from stylize(content, styles, settings, cancel=cancel, init_image=init_image)


def failure(err: Exception) -> gr.Error:
    """What the visitor reads when a run breaks; the cause stays in the server log."""
    if isinstance(err, (ValueError, FloatingPointError)):
        return gr.Error(sentence(err), title="The run stopped", print_exception=False)
    if "out of memory" in str(err).lower():
        return gr.Error("The machine ran out of memory; try a smaller size.", title="Out of memory")
    return gr.Error("This run failed on the server; please try a smaller size or other images.",
                    title="The run stopped")


def save_png(img: Image.Image) -> str:
    _PNG_DIR.mkdir(exist_ok=True)
    path = _PNG_DIR / f"stylized-{img.width}x{img.height}-{uuid.uuid4().hex[:8]}.png"
    img.save(path)
    return str(path)



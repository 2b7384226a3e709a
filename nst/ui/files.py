"""The files a run leaves to be served (the PNG, the time-lapse, a painted clip, a brush's mask):
one folder, fresh names, and nothing kept past MAX_AGE. Gradio copies what it serves into its
own cache (cleared by delete_cache), so these are only needed for a moment; a sweep at every new
file removes what an ended, stopped or failed run left behind."""
from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path

from PIL import Image

from .. import recipe

OUT_DIR = Path(tempfile.gettempdir()) / "nst-app"
MAX_AGE = 3600.0  # s, as long as Gradio's own cache keeps a file
_LOCK = threading.Lock()


def sweep(max_age: float = MAX_AGE) -> int:
    """Delete this app's files older than max_age seconds; returns how many went."""
    old, gone = time.time() - max_age, 0
    with _LOCK:
        for f in OUT_DIR.glob("*"):
            try:
                if f.is_file() and f.stat().st_mtime < old:
                    f.unlink()
                    gone += 1
            except OSError:  # removed meanwhile by another worker
                pass
    return gone


def out_path(name: str, suffix: str) -> Path:
    """A fresh file name for a result to serve: `name`-<random>`suffix` in this app's folder."""
    OUT_DIR.mkdir(exist_ok=True)
    sweep()
    return OUT_DIR / f"{name}-{uuid.uuid4().hex[:8]}{suffix}"


def save_png(img: Image.Image, name: str | None = None, how: dict | None = None) -> str:
    """A PNG to serve; with `how` (nst.recipe.of_frame) it carries the recipe that repeats it."""
    path = out_path(name or f"stylized-{img.width}x{img.height}", ".png")
    if how is None:
        img.save(path)
    else:
        recipe.save(img, path, how)
    return str(path)


def save_timelapse(lapse) -> str:
    return str(lapse.write(out_path("timelapse", ".webp")))


class Shown:
    """The pictures one job shows, each handed to Gradio as a file of its own.

    Gradio stores a PIL picture under a path named by the hash of its bytes and rewrites that
    file every time: two visitors shown the same picture at once (the first frame of the same
    example) had one download cut short while the other's rewrite truncated it. A file under a
    fresh name is copied into Gradio's cache whole. Gradio copies what a job yields before it
    asks the job for more, so each call (the pictures of one update) deletes the files of the
    calls before, and the job's end the rest.

        with files.Shown() as show:
            yield show(frame.image), ...
    """

    def __init__(self):
        self._paths: list[Path] = []

    def __call__(self, img: Image.Image, fmt: str = "jpeg") -> str:
        return self.many([img], fmt)[0]

    def many(self, imgs, fmt: str = "jpeg") -> list[str]:
        """The pictures of one update, as files."""
        self._drop()
        for img in imgs:
            self._paths.append(out_path("shown", "." + fmt))
            img.save(self._paths[-1], format=fmt)
        return [str(p) for p in self._paths]

    def _drop(self) -> None:
        for p in self._paths:
            p.unlink(missing_ok=True)
        self._paths = []

    def __enter__(self) -> "Shown":
        return self

    def __exit__(self, *exc) -> None:
        self._drop()

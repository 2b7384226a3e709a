"""What the commands share: the parser's one-line errors, opening a file or refusing it, the
process's start (a budget counts from it), Ctrl-C, warnings as one line, and exit codes.

Bad input ends with exit code 2 and one line on stderr, never a traceback; a bug with exit
code 1 and one line. Ctrl-C stops after the current step and keeps what was painted.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from PIL import Image

from ..intake import ImageError, open_image
from ..weights import WeightsError

_LOADED = time.perf_counter()


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + error; one line is clearer
        self.exit(2, f"nst: error: {message} (see nst --help)\n")


def process_start() -> float:
    """This process's start as a time.perf_counter() value (Linux: from /proc; elsewhere when this
    module loaded), so a command-line budget counts Python's start and the imports too."""
    try:
        start_ticks = float(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        age = max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        age = time.perf_counter() - _LOADED
    return time.perf_counter() - age


def open_file(path: str) -> Image.Image:
    """An image file, or ImageError whose sentence names the file."""
    try:
        return open_image(path)
    except ImageError as e:
        raise ImageError(f"{path}: {e}") from None


def check_output(path: Path, suffixes=None, kind: str = "an image extension such as .png or .jpg") -> None:
    """Refuse an output the run could not write, before spending minutes on it."""
    if path.suffix.lower() not in (suffixes or Image.registered_extensions()):
        raise ValueError(f"cannot write {str(path)!r}: use {kind}")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist")


@contextlib.contextmanager
def ctrl_c():
    """An Event that Ctrl-C sets while the block runs (the engine then ends its current step and
    yields the best picture so far), instead of a KeyboardInterrupt; the old handler comes back
    after. Signals reach only the main thread: elsewhere the Event is simply never set."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def _one_line(message, category, filename, lineno, file=None, line=None):
    print(f"nst: warning: {message}", file=file or sys.stderr)


def exit_code(work) -> int:
    """Run the command: 0 when done; bad input is one line and exit code 2, never a traceback;
    a library warning (a cache that cannot be written) is one line too."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line
            work()
    except (ImageError, ValueError, WeightsError, FloatingPointError, OSError) as e:
        print(f"nst: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug, not bad input: still one line, and a distinct exit code
        print(f"nst: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0

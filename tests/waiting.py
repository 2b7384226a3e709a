"""Every loop in the tests that waits has a deadline: this one, which says what it waited for."""
from __future__ import annotations

import os
import threading
import time


def wait_until(condition, seconds: float, what: str, pause=lambda: time.sleep(0.05)):
    """Call `condition` until it is true; AssertionError naming `what` after `seconds`."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"waited {seconds:g} s for {what}")
        pause()


class ChildStderr:
    """A child's stderr, read as it comes (tqdm writes no newlines) by a thread of its own."""

    def __init__(self, proc):
        self.text, self.proc = "", proc
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for chunk in iter(lambda: os.read(self.proc.stderr.fileno(), 4096), b""):
            self.text += chunk.decode(errors="replace")

    def wait_for(self, word: str, seconds: float = 120) -> None:
        end = time.monotonic() + seconds
        while word not in self.text and time.monotonic() < end and self.proc.poll() is None:
            time.sleep(0.1)
        assert word in self.text, self.text

    def rest(self, seconds: float = 10) -> str:
        self.thread.join(seconds)
        return self.text

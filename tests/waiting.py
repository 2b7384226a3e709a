"""Every loop in the tests that waits has a deadline: this one, which says what it waited for."""
from __future__ import annotations

import time


def wait_until(condition, seconds: float, what: str, pause=lambda: time.sleep(0.05)):
    """Call `condition` until it is true; AssertionError naming `what` after `seconds`."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"waited {seconds:g} s for {what}")
        pause()

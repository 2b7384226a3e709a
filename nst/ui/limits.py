"""What one visitor may ask of this machine, and what a preset buys here.

Every parameter that arrives over HTTP is checked against these Limits by Settings.validate, the
one place every setting is checked; every job (a picture, a clip, an Explore figure) is capped by
MAX_SECONDS of wall clock through the engine's own `limit`.
"""
from __future__ import annotations

import os
import threading

try:  # ZeroGPU on Hugging Face Spaces (app.py imports it before torch, as it must be)
    import spaces
except ImportError:
    spaces = None

from ..budget import Plan, plan
from ..settings import PRESETS, Limits, Settings
from ..speed import Speed, measured, resolve_device

DEVICE = resolve_device("auto").type  # 'cpu' | 'cuda' | 'mps'
# The same test as the spaces package's own (SPACES_ZERO_GPU = 1 / t / true).
ON_ZEROGPU = spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
GPU = DEVICE != "cpu" or ON_ZEROGPU

LIMITS = Limits(min_size=64, max_size=1536 if GPU else 768, max_steps=2000 if GPU else 800,
                lr=(0.1, 50.0), ratio=(1e-8, 1e2), style_scale=(0.25, 2.0), max_tv_weight=10.0,
                max_layer_weight=1.0, max_blend=1.0, max_seed=2**31 - 1,
                max_seconds=float(os.environ.get("NST_MAX_SECONDS", 120 if GPU else 180)))
# The safety net: no job, budgeted or not, holds the machine longer than this (wall clock, from
# the click); the engine cuts a run that would overrun it and still ends at full size.
MAX_SECONDS = LIMITS.max_seconds
# Explore's reconstructions are small pictures; the same cap and seeds.
EXPLORE = Limits(min_size=32, max_size=256, max_steps=400, max_seed=LIMITS.max_seed, max_seconds=MAX_SECONDS)
FRAME_SECONDS = 0.3  # a frame at least this often: 2-5 frames/s on any device, and prompt Stop
QUEUE_SIZE = int(os.environ.get("NST_QUEUE_SIZE", 20))
MAX_FILE_MB = 15
WORK_SIDE = 2048  # inputs are shrunk to this long side on arrival (the engine resizes anyway)
START_UP = 15.0  # s a ZeroGPU call may spend before the run starts (its GPU, the weights)
REFERENCE_PHOTO = (1536, 1024)  # a 3:2 photo: what a preset's size is quoted for without a photo


def speed() -> Speed:
    """This machine's measured speed (calibrated at start-up, cached, refreshed by every run)."""
    return measured(DEVICE)


class Finish:
    """Seconds the page needs after the final frame (PNG, time-lapse, the last update), measured
    on every run: a budget is kept to the final picture on the page, not to the engine's end."""

    def __init__(self, seconds: float = 1.0):
        self.seconds, self._lock = seconds, threading.Lock()

    def measured(self, seconds: float) -> None:
        with self._lock:
            self.seconds = 0.5 * self.seconds + 0.5 * min(max(seconds, 0.1), 10.0)


FINISH = Finish()


def planned(name: str, wh=REFERENCE_PHOTO, settings: Settings | None = None) -> Plan:
    """What a preset buys on this machine for a photo of size wh: the size its label promises and
    the size a run of it paints at (both ask this, with the same seconds)."""
    seconds = PRESETS[name] - FINISH.seconds
    s = (settings or Settings()).replace(seconds=PRESETS[name], size=None, steps=None)
    return plan(s, wh, seconds, speed(), max_size=LIMITS.max_size)


def refine_side(wh) -> int:
    """The long side Refine paints a result of size wh at: 1.5x, on the planner's grid, within
    this server's cap (so 544 px becomes 768 px on a CPU, not 816)."""
    return min(LIMITS.max_size, int(max(wh) * 1.5) // 32 * 32)


def refine_label(wh, seconds: float) -> str:
    """What the Refine button promises before the click: the size and the time."""
    return f"Refine at {refine_side(wh)} px · {seconds:g} s"

"""Speed models for tests: made from numbers (no machine named) or copied from this machine's,
installed for one block and taken out again, so no test leaves its model behind."""
from __future__ import annotations

import copy
import os
import shutil
import tempfile
from contextlib import contextmanager

from nst import speed
from nst.speed import Curve, Speed


def fake_speed(fp32=0.5, bf16=None, lbfgs=1.0, key="test", peaks=None, memory=None):
    """A machine whose step at 256 x 256 px takes `fp32` s (and `bf16` s), linear in pixels, and
    whose whole-picture step takes `memory` {precision: [bytes, bytes per pixel]} (None: unmeasured)."""
    def curve(t):
        return Curve({"a": [128 * 128, t / 4], "b": [256 * 256, t]})
    curves = {"fp32/adam": curve(fp32), "fp32/lbfgs": curve(fp32 * lbfgs)}
    if bf16 is not None:
        curves["bf16/adam"] = curve(bf16)
    return Speed(key, curves, peak_flops=dict(peaks or {"fp32": 1e11}), memory=dict(memory or {}))


def this_machine() -> Speed:
    """A copy of this machine's measured model, to change without touching the real one."""
    return copy.deepcopy(speed.measured("cpu"))


@contextmanager
def installed(sp: Speed, device: str = "cpu", weights: str = "vgg19"):
    """Runs on `device` use `sp` as the machine's model inside the block; the model in memory
    before (if any) comes back after, and what the block's runs observe is written to a folder of
    its own, deleted after: nothing of the fake model is left behind."""
    key = speed.machine_key(speed.resolve_device(device), weights)
    before, cache = speed._SPEEDS.get(key), os.environ.get("NST_CACHE")
    scratch = tempfile.mkdtemp(prefix="nst-fake-speed-")
    speed._SPEEDS[key] = sp
    os.environ["NST_CACHE"] = scratch
    try:
        yield sp
    finally:
        if before is None:
            speed._SPEEDS.pop(key, None)
        else:
            speed._SPEEDS[key] = before
        if cache is None:
            os.environ.pop("NST_CACHE", None)
        else:
            os.environ["NST_CACHE"] = cache
        shutil.rmtree(scratch, ignore_errors=True)

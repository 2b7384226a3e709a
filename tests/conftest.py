"""Shared fixtures: two tiny procedural pictures with opposite colour casts, so a test can tell
whose colours and whose texture ended up in the output.

The suite is hermetic: before anything imports nst, the speed cache, the Hugging Face and torch
caches point into a folder of this test session's own (the child processes it starts inherit it),
so no test reads or writes the user's ~/.cache. Tiers: `-m "not slow"` leaves out every test
that starts a browser, a live server or a Ray cluster.
"""
import os
import shutil
import tempfile
from pathlib import Path

_CACHE = Path(tempfile.mkdtemp(prefix="nst-tests-"))
os.environ["NST_CACHE"] = str(_CACHE / "nst")
os.environ["HF_HOME"] = str(_CACHE / "hf")
os.environ["TORCH_HOME"] = str(_CACHE / "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


# Tests that start a browser, a live server or a Ray cluster: the slow tier.
SLOW_MODULES = {"test_load", "test_space", "test_hostile_api", "test_steer_api", "test_video_api",
                "test_explore_api"}
SLOW_FIXTURES = {"server", "browser", "page", "live"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__
        if module.startswith("test_browser") or module in SLOW_MODULES or \
                SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)


def warm_photo(w: int = 48, h: int = 40) -> Image.Image:
    """A 'photo': smooth orange-red gradients and a dark disc (structure for the content loss)."""
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    r = 170 + 60 * x
    g = 90 + 50 * y
    b = 40 + 20 * x * y
    disc = (x - 0.55) ** 2 + (y - 0.45) ** 2 < 0.04
    rgb = np.stack([r, g, b], -1)
    rgb[disc] *= 0.35
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def cool_painting(w: int = 48, h: int = 48, seed: int = 1) -> Image.Image:
    """A 'painting': blue ground with short yellow and cyan diagonal strokes (strong texture)."""
    rng = np.random.default_rng(seed)
    a = np.zeros((h, w, 3)) + (25, 45, 150)
    for _ in range(w * h // 30):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        colour = (240, 210, 60) if rng.random() < 0.5 else (80, 200, 230)
        for t in range(-3, 4):
            a[(cy + t) % h, (cx + t) % w] = colour
    return Image.fromarray(a.astype(np.uint8))


@pytest.fixture
def photo() -> Image.Image:
    return warm_photo()


@pytest.fixture
def painting() -> Image.Image:
    return cool_painting()

"""A short run paints: the style loss falls by more than half and the picture leaves both inputs."""
import numpy as np
from PIL import Image

from nst import Settings, stylize


def _img(seed, w=48, h=40):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def test_short_run_halves_style_loss():
    content = _img(0).resize((64, 48))
    style = _img(1, 16, 16).resize((64, 64), Image.NEAREST)
    frames = list(stylize(content, style, Settings(size=48, steps=30, frame_every=5)))
    assert frames[-1].done and frames[-1].step == 30
    assert frames[-1].losses["style"] < 0.5 * frames[0].losses["style"]

"""The time-lapse a visitor downloads: an animated WebP that plays, frames in the run's order,
spread over the run, the final picture last and held."""
import numpy as np
import pytest
from PIL import Image

from conftest import cool_painting, warm_photo
from nst import Settings, stylize
from nst.timelapse import TimeLapse
from test_browser import browser  # noqa: F401  (Debian's Chromium, or a skip with the reason)


def _decoded(path):
    im = Image.open(path)
    frames, durations = [], []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append(np.asarray(im.convert("RGB"), np.float32))
        durations.append(im.info["duration"])
    return im, frames, durations


def test_a_run_becomes_a_playable_time_lapse_ending_on_the_final_picture(tmp_path):
    lapse = TimeLapse(long_side=40)
    final = None
    for frame in stylize(warm_photo(), cool_painting(), Settings(size=48, steps=24, frame_every=2)):
        lapse.add(frame.image, frame.step)
        final = frame
    im, frames, durations = _decoded(lapse.write(tmp_path / "run.webp"))
    # 12 streamed frames; the encoder may fold a near-identical one into the next one's time
    assert im.format == "WEBP" and im.is_animated and 10 <= len(frames) <= 12
    assert im.size == (40, 33)
    small = final.image.resize(im.size, Image.LANCZOS)
    want = np.asarray(small, np.float32)
    small.save(tmp_path / "still.webp", quality=lapse.quality)  # WebP's own loss on this picture
    coding_loss = np.abs(_decoded(tmp_path / "still.webp")[1][0] - want).mean()
    errors = [np.abs(f - want).mean() for f in frames]
    assert errors[-1] <= coding_loss + 0.5  # the final picture, up to lossy coding
    assert errors[0] > 2 * errors[-1] and min(errors) == errors[-1]
    assert durations[-1] >= 1500 > 500 > durations[0]  # the end is held


def test_frames_are_spread_over_the_run_in_order(tmp_path):
    """300 streamed frames (brightness = step) become max_frames, evenly spaced, in order."""
    lapse = TimeLapse(long_side=16, max_frames=10)
    for step in range(1, 301):
        lapse.add(Image.new("RGB", (32, 16), (round(step * 0.8),) * 3), step)
    _, frames, _ = _decoded(lapse.write(tmp_path / "ramp.webp"))
    steps = [f.mean() / 0.8 for f in frames]
    assert len(frames) == 10 and all(b > a for a, b in zip(steps, steps[1:]))
    assert abs(steps[0] - 1) < 5 and abs(steps[-1] - 300) < 5
    gaps = np.diff(steps)
    assert gaps.max() < 1.5 * gaps.mean()  # evenly spread, not bunched at the end
    assert len(lapse.frames) <= 20  # memory stays bounded during a long run


def test_a_time_lapse_needs_frames_and_a_webp_name(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        TimeLapse().write(tmp_path / "empty.webp")
    lapse = TimeLapse()
    lapse.add(Image.new("RGB", (8, 8)), 1)
    with pytest.raises(ValueError, match="use a .webp file"):
        lapse.write(tmp_path / "run.gif")


def test_the_time_lapse_plays_in_chromium(tmp_path, browser):
    """Chromium decodes the file and animates it inline: the <img> shows other pictures over time
    (a canvas would not tell: drawImage always takes an animation's first frame)."""
    import base64
    import hashlib

    lapse = TimeLapse(seconds=1.0, hold=0.5)
    for step in range(1, 21):
        lapse.add(Image.new("RGB", (64, 48), (12 * step, 100, 255 - 12 * step)), step)
    data = base64.b64encode(lapse.write(tmp_path / "ramp.webp").read_bytes()).decode()
    page = browser.new_page()
    try:
        page.set_content(f'<img id="lapse" src="data:image/webp;base64,{data}">')
        page.wait_for_function("document.getElementById('lapse').naturalWidth === 64")
        seen = set()
        for _ in range(6):
            seen.add(hashlib.sha1(page.locator("#lapse").screenshot()).hexdigest())
            page.wait_for_timeout(150)
        assert len(seen) >= 3
    finally:
        page.close()

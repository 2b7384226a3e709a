"""A visitor steers a running picture, brushes a mask, and keeps the time-lapse (real Chromium)."""
from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from test_app import server  # noqa: F401  (the real app on a free port)
from test_browser import browser, set_slider  # noqa: F401  (Debian's Chromium, or a skip with the reason)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SHOTS = Path(os.environ.get("NST_SCREENSHOTS", tempfile.gettempdir()))


def _load(page, photo="chelsea.jpg", painting="swirling_night.jpg"):
    page.set_input_files("#content input[type=file]", str(EXAMPLES / "photos" / photo))
    page.set_input_files("#style input[type=file]", str(EXAMPLES / "styles" / painting))
    page.wait_for_selector("#content img")
    page.wait_for_selector("#style img")


def _step(page) -> int:
    m = re.search(r"step (\d+)", page.inner_text("#status"))
    return int(m.group(1)) if m else 0


def test_moving_alpha_beta_steers_the_running_picture(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.goto(server)
    _load(page)
    page.click(":text('Balanced ·')")  # long enough to steer on this CPU
    page.click("#paint")
    page.wait_for_function("/step [1-9]/.test(document.querySelector('#status').innerText)",
                           timeout=120_000)
    set_slider(page, "ratio", 1)  # from 10^-3 to 10: much more photo
    page.wait_for_selector("#status :text('photo against painting → 10^1.0 from step')", timeout=60_000)
    text = page.inner_text("#status")
    since = int(re.search(r"from step (\d+)", text).group(1))
    # the run goes on, no restart, no stop (a short first level may be enlarging just then)
    assert "Painting" in text or "Enlarging to" in text, text
    page.wait_for_function(f"(() => {{ const m = /step (\\d+)/.exec(document.querySelector('#status')"
                           f".innerText); return m && +m[1] > {since + 2}; }})()", timeout=60_000)
    # the steps went on (waited for above); the status may now be a level change's, with no step
    assert "photo against painting → 10^1.0" in page.inner_text("#status")
    page.click("#stop")
    page.wait_for_selector("#status :text('Stopped')", timeout=60_000)
    assert f"photo against painting → 10^1.0 from step {since}" in page.inner_text("#status")  # kept in the end
    page.wait_for_timeout(600)
    page.screenshot(path=str(SHOTS / "steered.png"), full_page=True)
    page.close()


def test_a_slider_value_the_server_refuses_is_said_on_the_page_and_the_run_goes_on(server, browser):  # noqa: F811
    """Every style layer dragged to 0 mid-run: the server refuses the last one (outside the queue,
    where a refusal would show nothing) and the page says so once, in a toast; the run paints on
    with its last accepted weights."""
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.goto(server)
    _load(page)
    page.click("#advanced > button")
    # a size and steps both given: a fixed-length run, long enough to steer on any machine (steps
    # alone that the Quick budget cannot hold are refused before the run)
    set_slider(page, "size", 128)
    set_slider(page, "steps", 400)
    page.wait_for_timeout(300)
    page.click("#paint")
    page.wait_for_function("/step [1-9]\\d* of 400/.test(document.querySelector('#status').innerText)",
                           timeout=120_000)
    for layer in ("conv1_1", "conv2_1", "conv3_1", "conv4_1"):
        set_slider(page, f"w_{layer}", 0)
    # taken in the order typed (one event for all the sliders), conv5_1 the only one left
    page.wait_for_selector("#status :text('conv4_1 → 0 from step')", timeout=30_000)
    set_slider(page, "w_conv5_1", 0)
    page.wait_for_selector(".toast-body :text('Not applied')", timeout=15_000)
    page.wait_for_timeout(500)
    said = [t.inner_text() for t in page.query_selector_all(".toast-body") if "Not applied" in t.inner_text()]
    assert len(said) == 1 and "all 0" in said[0], said
    at = _step(page)
    page.wait_for_function(f"(() => {{ const m = /step (\\d+)/.exec(document.querySelector('#status')"
                           f".innerText); return m && +m[1] > {at}; }})()", timeout=60_000)
    assert "conv4_1 → 0 from step" in page.inner_text("#status")  # the last weight it took
    page.click("#stop")
    page.wait_for_selector("#status :text('Stopped')", timeout=60_000)
    page.close()


def _download(page, selector) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


# Every picture the live box shows, as the page got it (the URL of each streamed frame).
KEEP_FRAMES = """
window.__frames = [];
new MutationObserver(() => {
  const img = document.querySelector('#live img');
  if (img && img.src && window.__frames[window.__frames.length - 1] !== img.src) window.__frames.push(img.src);
}).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
"""


def _change_right(picture: Image.Image, photo: Image.Image, x0: float) -> float:
    """Mean |picture - photo| in grey levels right of x0 (a fraction of the width)."""
    a = np.asarray(picture.convert("RGB"), float)
    b = np.asarray(photo.resize(picture.size, Image.LANCZOS), float)
    return float(np.abs(a - b).mean(2)[:, int(x0 * picture.width):].mean())


def test_brush_a_mask_paint_and_get_the_time_lapse(server, browser):  # noqa: F811
    """The brushed left part is painted, the photo right of it stays the photo in every streamed
    frame, the download and the time-lapse."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(server)
    _load(page)
    page.click("#mask_box")  # open the accordion
    page.click("#where :text('The painting only where I brush')")
    page.wait_for_selector("#mask_editor canvas")
    page.wait_for_timeout(800)  # the photo becomes the canvas's background
    page.locator("#mask_editor").scroll_into_view_if_needed()
    page.click("#mask_editor button[aria-label='Brush']")
    box = page.locator("#mask_editor canvas").first.bounding_box()
    # strokes over the left part of the photo (centred on the canvas), row by row
    x0, x1 = box["x"] + 0.2 * box["width"], box["x"] + 0.5 * box["width"]
    for k in range(12):
        y = box["y"] + box["height"] * (0.12 + 0.065 * k)
        page.mouse.move(x0, y)
        page.mouse.down()
        page.mouse.move(x1, y, steps=8)
        page.mouse.up()
    page.evaluate(KEEP_FRAMES)
    page.click("#paint")
    page.wait_for_selector("#status :text('Done')", timeout=300_000)
    steps = int(re.search(r"(\d+) steps in", page.inner_text("#status")).group(1))

    result = Image.open(io.BytesIO(_download(page, "#download"))).convert("RGB")
    photo = Image.open(EXAMPLES / "photos" / "chelsea.jpg").convert("RGB")
    change = np.abs(np.asarray(result, float) - np.asarray(photo.resize(result.size, Image.LANCZOS), float)).mean(2)
    w = result.width
    brushed = change[:, int(0.15 * w):int(0.45 * w)].mean()
    assert brushed >= 10 and _change_right(result, photo, 0.7) <= 4, (brushed, _change_right(result, photo, 0.7))

    urls = page.evaluate("window.__frames")
    frames = [Image.open(io.BytesIO(page.request.get(u).body())) for u in urls]
    assert len(frames) >= min(5, steps)
    for f in frames:  # the page's JPEG frames: their own encoding adds about a grey level
        assert f.size == result.size and _change_right(f, photo, 0.7) <= 4, (f.size, _change_right(f, photo, 0.7))

    page.wait_for_function("document.querySelector('#lapse img')?.naturalWidth > 0")
    movie = Image.open(io.BytesIO(_download(page, "#lapse_dl")))
    # every painted frame the page was sent is in it (frames come at most every 0.3 s, so fast
    # coarse steps share one; the page's own include a level change's enlarged picture)
    assert movie.format == "WEBP" and movie.is_animated and movie.n_frames >= min(10, len(frames) - 2), (
        movie.n_frames, len(frames), steps)
    from nst.ui.stream import LAPSE_SIDE
    assert max(movie.size) == min(LAPSE_SIDE, max(result.size))  # the result's size, within the time-lapse's cap
    for k in range(movie.n_frames):  # lossy WebP at 80: a few grey levels of its own
        movie.seek(k)
        assert _change_right(movie.convert("RGB"), photo, 0.7) <= 6, k
    page.close()

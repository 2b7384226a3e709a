"""A real visitor in a real browser (Debian's Chromium driven by Playwright; never `playwright
install`): what the page shows, checked where the visitor looks.

NST_SCREENSHOTS=DIR saves the paint screenshots there (scripts/readme_images.py uses it for README);
NST_SHOT_FRAMES=N waits for N picture changes before Stop (default 2: a fast test).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_app import assert_no_jump, server  # noqa: F401  (the same real server fixture)
from waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DESKTOP, PHONE = (1280, 900), (390, 844)
NOT_AN_IMAGE = "This file is not an image that can be read"
# Keeps a copy of every queue stream the page reads, so a test can see the data the page got.
TEE_SSE = """
window.__sse = [];
const _fetch = window.fetch;
window.fetch = async (...args) => {
  const res = await _fetch(...args);
  const url = String((args[0] && args[0].url) || args[0]);
  if (!url.includes("queue/data") || !res.body) return res;
  const [mine, copy] = res.body.tee();
  (async () => { const r = copy.getReader(), d = new TextDecoder();
    for (;;) { const {done, value} = await r.read(); if (done) break; window.__sse.push(d.decode(value)); } })();
  return new Response(mine, {headers: res.headers, status: res.status});
};
"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # in CI a missing browser is a failure, never a silent skip
        pytest.skip(message)
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser")
    (d / "notes.jpg").write_text("this is a text file, renamed")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:400, 0:3000]
    Image.fromarray(np.stack([xx % 255, yy % 200, (xx + yy) % 180], -1).astype(np.uint8)).save(d / "wide.png")
    grey = np.repeat((128 + 60 * np.sin(np.mgrid[0:96, 0:128][1] / 6.0))[..., None], 3, -1)
    Image.fromarray(grey.astype(np.uint8)).save(d / "grey.png")  # a photo without colour
    for name, colour in (("blue", (30, 60, 220)), ("red", (220, 40, 30))):
        a = np.clip(np.array(colour) + rng.integers(-40, 40, (48, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(a).resize((96, 96), Image.NEAREST).save(d / f"{name}.png")
    return d


def screenshots(tmp_path) -> Path:
    """Where a test keeps its screenshots: NST_SCREENSHOTS, else its temporary folder."""
    d = Path(os.environ.get("NST_SCREENSHOTS", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _page(browser, server, size=DESKTOP):  # noqa: F811
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.add_init_script(TEE_SSE)
    page.goto(server)
    return page


def _pictures(page, photo, painting):
    page.set_input_files("#content input[type=file]", str(photo))
    page.set_input_files("#style input[type=file]", str(painting))
    page.wait_for_selector("#content img")
    page.wait_for_selector("#style img")


def set_slider(page, elem_id: str, value: float):
    """Type into the slider's number box, as a visitor can (Enter commits it), again if the box
    did not keep it: typed a moment after its accordion opened, it went back to its default (2 of
    6 tries), faster than a person could type."""
    box = page.locator(f"#{elem_id} input[type=number]")
    for _ in range(3):
        box.fill(str(value))
        box.press("Enter")
        page.wait_for_timeout(150)
        if float(box.input_value()) == float(value):
            return
    raise AssertionError(f"the {elem_id} box did not keep {value}")


def _advanced(page, **values):
    """Open Advanced and type values into its number boxes (elem_id -> value)."""
    page.click("#advanced > button")
    for elem, value in values.items():
        set_slider(page, elem, value)
    page.wait_for_timeout(300)


def _live_src(page) -> str:
    """The live picture's URL ('' when there is none: before the first frame, or once it ended)."""
    return page.evaluate("(document.querySelector('#live img') || {}).src || ''")


def _wait_done(page, timeout=120_000):
    page.wait_for_selector("#status :text-matches('Done|Stopped')", timeout=timeout)
    page.wait_for_timeout(500)


def _received(page) -> list:
    """Every output value the page received from the server, oldest first."""
    values = []
    for line in "".join(page.evaluate("window.__sse")).splitlines():
        if line.startswith("data: "):
            values += (json.loads(line[6:]).get("output") or {}).get("data") or []
    return values


def _charts(page) -> list[dict]:
    """Every loss chart the page received, oldest first (Vega-Lite specs)."""
    return [json.loads(v["plot"]) for v in _received(page) if isinstance(v, dict) and v.get("type") == "altair"]


def _not_dimmed(page, selector: str):
    state = page.eval_on_selector(selector, "b => [b.disabled, getComputedStyle(b).opacity]")
    assert state == [False, "1"], f"{selector} is left disabled or dimmed: {state}"


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_paint_watch_it_change_then_stop(server, browser, tmp_path, size):  # noqa: F811
    page = _page(browser, server, size)
    _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "starry_night.jpg")
    page.click("#paint")
    page.wait_for_timeout(1500)  # the smooth scroll
    top, bottom = page.eval_on_selector("#live", "e => [e.getBoundingClientRect().top, e.getBoundingClientRect().bottom]")
    assert -2 <= top and bottom <= size[1] + 2, f"the live picture is not in view after Paint: {top}..{bottom}"

    seen, wanted = set(), int(os.environ.get("NST_SHOT_FRAMES", 2))
    for _ in range(1200):  # the picture must change at least `wanted` times while painting
        src = _live_src(page)
        if src:
            seen.add(src)
        if len(seen) > wanted:
            break
        page.wait_for_timeout(100)
    assert len(seen) > wanted, f"the output changed {len(seen) - 1} times, not {wanted}"
    assert "left" in page.inner_text("#status") and "per step" in page.inner_text("#details")

    page.click("#stop")
    page.wait_for_selector("#status :text('Stopped')", timeout=30_000)  # ended, best image kept
    page.wait_for_selector("#download", state="visible")
    page.wait_for_timeout(800)  # let the loss chart and the before/after slider settle
    shot = screenshots(tmp_path) / f"app-{'phone' if size == PHONE else 'desktop'}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_the_loss_chart_continues_across_a_level_change(server, browser):  # noqa: F811
    page = _page(browser, server)
    _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "the_scream.jpg")
    _advanced(page, steps=30, size=256)  # a pyramid: a coarse level, then 256 px
    page.click("#paint")
    _wait_done(page)
    charts = _charts(page)
    assert charts, "no loss chart reached the page"
    # the level plan the server really took, as the page states it: 'steps 12 at 128 px + 18 at 256 px'
    import re
    details = page.inner_text("#details")
    plan = [(int(n), int(side)) for n, side in re.findall(r"(\d+) at (\d+) px", details)]
    assert len(plan) >= 2 and plan[-1][1] == 256, details
    assert_no_jump(charts[-1], finer=plan[1][1])  # the chart marks the change to the server's level 2
    w, h = page.eval_on_selector("#losses canvas", "c => [c.clientWidth, c.clientHeight]")
    assert w > 300 and h > 150  # drawn, not collapsed
    page.close()


def test_a_refused_upload_is_named_on_both_tabs(server, browser, files):  # noqa: F811
    page = _page(browser, server)
    page.set_input_files("#content input[type=file]", str(files / "notes.jpg"))
    page.set_input_files("#style input[type=file]", str(EXAMPLES / "styles" / "starry_night.jpg"))
    page.wait_for_selector(f"#content-note :text('{NOT_AN_IMAGE}')", timeout=15_000)  # at upload
    page.click("#paint")  # the refused file left its box: Paint asks for a photo
    page.wait_for_selector("#status :text('Please add the photo')", timeout=15_000)  # in the status line
    assert any("Please add the photo" in t.inner_text() for t in page.query_selector_all(".toast-body"))
    page.wait_for_timeout(500)
    _not_dimmed(page, "#paint")
    # said in the status line and a toast, not also as an "Error" badge over the empty picture box
    assert page.query_selector("#live .wrap:not(.hide) .error") is None  # (a .hide wrap is transparent)

    page.get_by_role("tab", name="Explore").click()
    page.set_input_files("#explore-image input[type=file]", str(files / "notes.jpg"))
    page.click("#explore-go")
    page.wait_for_selector(f"#explore-status :text('{NOT_AN_IMAGE}')", timeout=30_000)
    page.wait_for_timeout(500)
    _not_dimmed(page, "#explore-go")
    page.set_input_files("#explore-image input[type=file]", str(EXAMPLES / "photos" / "coffee.jpg"))
    page.set_input_files("#ratio_row-image input[type=file]", str(files / "notes.jpg"))
    page.click("#ratio_row-go")  # a painting that is not a picture
    page.wait_for_selector(f"#ratio_row-status :text('{NOT_AN_IMAGE}')", timeout=30_000)
    assert any(NOT_AN_IMAGE in t.inner_text() for t in page.query_selector_all(".toast-body"))
    page.wait_for_timeout(500)
    _not_dimmed(page, "#ratio_row-go")
    page.close()


def test_a_wide_panorama_is_painted_with_a_usable_short_side(server, browser, files):  # noqa: F811
    page = _page(browser, server)
    _pictures(page, files / "wide.png", EXAMPLES / "styles" / "mosaic.jpg")
    _advanced(page, steps=10)
    page.click("#paint")
    _wait_done(page)
    status = page.inner_text("#status")
    assert "times as wide" in status, status
    w, h = map(int, page.inner_text("#download").split("(")[1].rstrip(")").split("×"))
    # the panorama's shape with the pixels the budget buys (those of a 3:2 photo), not a sliver
    assert w / h > 7 and h >= 64, (w, h)
    page.close()


def test_two_paint_clicks_then_stop_stops_everything(server, browser):  # noqa: F811
    from nst.ui import runs
    page = _page(browser, server)
    _pictures(page, EXAMPLES / "photos" / "rocket.jpg", EXAMPLES / "styles" / "shipwreck.jpg")
    _advanced(page, steps=800, size=256)
    page.click("#paint")
    page.click("#paint")
    page.wait_for_selector("#status :text('Painting')", timeout=60_000)
    page.click("#stop")
    page.wait_for_selector("#status :text('Stopped')", timeout=30_000)
    # The server's own state, not a pause: the device's queue empty and no run painting. A run
    # that Stop missed (the second click's, waiting for the first) would take the device now and
    # paint its 800 steps, so this never holds within the minute.
    import time

    import app
    device = app.demo._queue.event_queue_per_concurrency_id["device"]

    def idle() -> bool:
        return not device.queue and device.current_concurrency == 0 and runs.RUNS.count() == 0

    end = time.monotonic() + 60
    # ... and the page shows no run in progress (the live picture's progress wrap, as app.PHONE_CSS reads it)
    while not (idle() and page.evaluate("() => !document.querySelector('#live > .wrap:not(.hide)')")):
        assert time.monotonic() < end, (f"after Stop: {len(device.queue)} waiting, {runs.RUNS.count()} painting; "
                                        + page.inner_text("#status"))
        page.wait_for_timeout(100)
    assert "Painting" not in page.inner_text("#status") and "Stopped" in page.inner_text("#status")
    assert runs.RUNS.count() == 0  # no run left waiting or painting on the server
    page.close()


def test_blend_weights_follow_their_slots(server, browser, files):  # noqa: F811
    """Painting 1 (blue) nearly off, no painting 2, painting 3 (red) at full weight: red wins.
    (Weights by position gave painting 3 the empty slot 2's weight, 0, and painted blue.)"""
    import httpx
    page = _page(browser, server)
    _pictures(page, files / "grey.png", files / "blue.png")
    page.click("text=Blend more paintings")
    page.set_input_files("#style_3 input[type=file]", str(files / "red.png"))
    page.wait_for_selector("#style_3 img")
    for elem, value in (("blend_1", 0.05), ("blend_2", 0), ("blend_3", 1)):
        box = page.locator(f"#{elem} input[type=number]")
        box.fill(str(value))
        box.press("Enter")
    _advanced(page, size=64, steps=60)
    page.click("#paint")
    _wait_done(page)
    pngs = [v["value"] for v in _received(page)  # the PNG's button, not the time-lapse's
            if isinstance(v, dict) and str(v.get("label")).startswith("Download PNG")]
    data = httpx.get(pngs[-1]["url"]).content  # the PNG the page offers for download
    out = np.asarray(Image.open(__import__("io").BytesIO(data)).convert("RGB"), float)
    red, blue = out[..., 0].mean(), out[..., 2].mean()
    assert red > blue + 20, (red, blue)
    page.close()


def test_the_preset_says_its_time_and_the_countdown_holds(server, browser):  # noqa: F811
    """The preset buttons name their budget and this machine's size before a run; while it
    paints, the time left only counts down (no jump up at a level change), and the picture
    arrives at the size the status line promised."""
    import re

    page = _page(browser, server)
    labels = page.inner_text("#preset")
    assert "Quick · 15 s" in labels and "Balanced · 45 s" in labels and "px here" in labels, labels
    assert "No run goes past" in labels  # the safety cap, stated before a run
    _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "the_scream.jpg")
    page.wait_for_timeout(1000)  # the labels follow the photo just chosen
    quick = re.search(r"Quick · 15 s · (\d+) px here", page.inner_text("#preset"))
    assert quick, page.inner_text("#preset")
    page.click("#paint")
    lefts, sizes = [], set()

    def done() -> bool:
        text = page.inner_text("#status")
        m = re.search(r"about (\d+) s left", text)
        if m:
            lefts.append(int(m[1]))
            sizes.add(re.search(r"(\d+×\d+) px", text)[1])
        return "Done" in text
    wait_until(done, 90, "the quick run's Done", pause=lambda: page.wait_for_timeout(150))
    assert len(lefts) >= 5 and lefts[0] <= 15, lefts
    assert all(b <= a + 1 for a, b in zip(lefts, lefts[1:])), lefts  # 1 s: rounding of two reads
    final = re.search(r"(\d+×\d+) px", page.inner_text("#status"))[1]
    assert sizes == {final}, (sizes, final)  # the size promised from the first frame is the one given
    # ... and the one the button promised for this photo before the click
    assert max(map(int, final.split("×"))) == int(quick[1]), (quick[0], final)
    page.close()

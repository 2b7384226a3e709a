"""What a visitor met in Chromium, each on the page's own clock: the Video tab says what it does
from the click, a budgeted run's status keeps to what holds, a level change is said while it
happens, Refine promises its size and time and starts from the result in view, Explore's figures
are large and uncovered and a missing image is named and shown, a phone's live box fits its
picture, and a refused Paint is no server error.

NST_SCREENSHOTS=DIR keeps the screenshots (default: the test's temporary folder).
"""
from __future__ import annotations

import re

import pytest

from test_app import server  # noqa: F401  (the real app on a free port)
from test_browser import DESKTOP, EXAMPLES, PHONE, _advanced, _pictures, browser, screenshots  # noqa: F401

# The status line's texts as the page shows them, with the page's own clock (ms) and how many
# pictures the Video tab's gallery holds at that moment.
WATCH = """(sel) => { window.__log = []; const st = document.querySelector(sel);
  const note = () => window.__log.push([performance.now(), st.innerText,
                                        document.querySelectorAll('#video_frames img').length]);
  new MutationObserver(note).observe(st, {subtree: true, childList: true, characterData: true});
  const g = document.querySelector('#video_frames');
  if (g) new MutationObserver(note).observe(g, {subtree: true, childList: true}); }"""


def _page(browser, server, size=DESKTOP):  # noqa: F811
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(server)
    return page


def test_the_video_tab_says_what_it_does_from_the_click(server, browser, tmp_path):  # noqa: F811
    """It showed Gradio's 'processing | 13.1s' over the stale 'Pick a clip...' until the first
    frame: now a status within a second, and the frame being painted soon after."""
    page = _page(browser, server)
    page.get_by_role("tab", name="Video").click()
    page.wait_for_selector("#clip video")
    stale = page.inner_text("#video_status")
    page.evaluate(WATCH, "#video_status")
    clicked = page.evaluate("performance.now()")
    page.click("#paint_video")
    page.wait_for_function("window.__log.some(([t, s, n]) => n > 0)", timeout=60_000)
    log = page.evaluate("window.__log")
    said = next(t for t, s, n in log if s.strip() and stale not in s) - clicked
    shown = next(t for t, s, n in log if n > 0) - clicked
    assert said < 1000, f"the status said nothing new for {said:.0f} ms"
    assert shown < 3000, f"no picture for {shown:.0f} ms"
    assert re.search(r"frame 1 of \d+", page.inner_text("#video_status")), page.inner_text("#video_status")
    page.click("#stop_video")
    page.wait_for_selector("#video_status :text-matches('Stopped|Done')", timeout=60_000)
    page.close()


@pytest.fixture(scope="module")
def budgeted_run(server, browser, tmp_path_factory):  # noqa: F811
    """Every status line a Quick run showed, in order, with the page's clock."""
    page = _page(browser, server)
    _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "starry_night.jpg")
    page.wait_for_timeout(800)
    page.evaluate(WATCH, "#status")
    page.click("#paint")
    page.wait_for_selector("#status :text('Done')", timeout=120_000)
    log = [s for _, s, _ in page.evaluate("window.__log")]
    page.close()
    return log


def test_a_budgeted_runs_status_shows_no_total_that_moves(budgeted_run):
    """'1 of 128', '8 of 95', '14 of 119': a budget re-plans its steps, so its total moved. What
    holds is said: the level and the seconds left."""
    totals = {int(m[1]) for s in budgeted_run for m in [re.search(r"step \d+ of (\d+)", s)] if m}
    assert len(totals) <= 1, totals
    painting = [s for s in budgeted_run if s.startswith("Painting")]
    assert painting and all(re.search(r"level \d of \d · step \d+ · about \d+ s left", s) for s in painting), painting[:3]


def test_a_level_change_is_said_while_it_happens(budgeted_run):
    """The picture and the status stood still for seconds when a run moved to the next size."""
    levels = [int(m[1]) for s in budgeted_run for m in [re.search(r"level (\d) of", s)] if m]
    changes = [i for i in range(1, len(levels)) if levels[i] != levels[i - 1]]
    assert changes, levels
    for i in changes:
        assert any(s.startswith("Enlarging to") for s in budgeted_run if f"level {levels[i]} of" in s), levels[i]


def test_refine_promises_its_size_and_time_and_starts_from_the_result(server, browser, tmp_path):  # noqa: F811
    """It said '1.5x' and gave 1.41x, never said how long, showed an empty box and the old status
    for a second, its chart jumped up at step 2, and its time-lapse replaced the first one."""
    page = _page(browser, server)
    _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "starry_night.jpg")
    _advanced(page, size=192, seconds=5)
    page.click("#paint")
    page.wait_for_selector("#status :text('Done')", timeout=60_000)
    page.wait_for_timeout(500)
    label = page.inner_text("#refine")
    m = re.fullmatch(r"Refine at (\d+) px · (\d+) s", label.strip())
    assert m and int(m[1]) == 288 and int(m[2]) == 5, label  # 1.5 x 192 on the grid, in the budget given
    page.evaluate(WATCH, "#status")
    clicked = page.evaluate("performance.now()")
    page.click("#refine")
    page.wait_for_timeout(300)
    state = page.evaluate("""() => { const i = document.querySelector('#live img');
        const w = document.querySelector('#live > .wrap'); const bg = w ? getComputedStyle(w).backgroundColor : '';
        const a = /rgba\\(.*,\\s*([\\d.]+)\\)/.exec(bg); return [i ? i.naturalWidth : 0, a ? +a[1] : (bg ? 1 : 0),
        !!document.querySelector('#losses canvas')]; }""")
    assert state[0] == 192, f"the live box does not show the result it starts from: {state}"
    assert state[1] < 0.5, f"the result is hidden under an opaque veil: {state}"
    assert not state[2], "the last run's chart is still up"
    said = [(t - clicked, s) for t, s, _ in page.evaluate("window.__log")]
    refining = next((t for t, s in said if "Refining 192×128 px → 288 px" in s), None)
    assert refining is not None and refining < 500, said[:4]
    page.wait_for_selector("#status :text('Done')", timeout=60_000)
    page.wait_for_timeout(500)
    assert "288×" in page.inner_text("#status"), page.inner_text("#status")
    assert page.is_visible("#first_lapse_dl") and "first run" in page.inner_text("#first_lapse_dl")
    assert "refinement" in page.inner_text("#lapse_dl")
    page.screenshot(path=str(screenshots(tmp_path) / "refine.png"), full_page=True)
    page.close()


def test_explores_figures_are_large_uncovered_and_a_missing_image_is_shown(server, browser, tmp_path):  # noqa: F811
    """Gradio's icons covered a third of Figure 1's last cell; its 128 px cells were small on a
    desktop; 'Please add the image.' named no box and left it off-screen."""
    page = _page(browser, server)
    page.get_by_role("tab", name="Explore").click()
    page.click("#figure-go")
    page.wait_for_selector("#figure-status :text('Not rendered')", timeout=30_000)
    page.wait_for_timeout(1200)  # the smooth scroll
    assert "image to rebuild" in page.inner_text("#figure-status"), page.inner_text("#figure-status")
    top, bottom = page.eval_on_selector("#explore-image", "e => [e.getBoundingClientRect().top, e.getBoundingClientRect().bottom]")
    assert top >= 0 and bottom <= DESKTOP[1], f"the image box is not in view: {top}..{bottom}"
    page.set_input_files("#explore-image input[type=file]", str(EXAMPLES / "photos" / "chelsea.jpg"))
    page.wait_for_selector("#explore-image img")
    for elem, value in (("figure-steps", 1), ("figure-size", 64)):
        box = page.locator(f"#{elem} input[type=number]")
        box.fill(str(value))
        box.press("Enter")
    page.click("#figure-go")
    page.wait_for_selector("#figure-status :text('Done')", timeout=120_000)
    page.locator("#figure-out").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    got = page.evaluate("""() => { const i = document.querySelector('#figure-out img'); const r = i.getBoundingClientRect();
        const meet = q => q.left < r.right && r.left < q.right && q.top < r.bottom && r.top < q.bottom;
        const over = [...document.querySelectorAll('#figure-out .icon-button-wrapper button')]
          .filter(b => b.checkVisibility()).filter(b => meet(b.getBoundingClientRect())).length;
        return [i.naturalWidth, r.width, over]; }""")
    assert got[2] == 0, f"{got[2]} of the picture's buttons lie over the figure"
    assert got[1] >= 1.3 * got[0], f"the figure is shown {got[1]:.0f} px wide, painted {got[0]}"
    page.screenshot(path=str(screenshots(tmp_path) / "explore-figure.png"))
    page.close()


def test_on_a_phone_the_live_box_fits_its_picture(server, browser, tmp_path):  # noqa: F811
    """While it painted, the live box stood 420 px tall around a 217 px picture."""
    page = _page(browser, server, PHONE)
    _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "starry_night.jpg")
    page.click("#paint")
    page.wait_for_function("/step [1-9]/.test(document.querySelector('#status').innerText)", timeout=60_000)
    page.wait_for_timeout(1500)
    # measured once a frame is decoded: the live picture's source changes with every frame, and
    # a frame still loading has no natural size
    measured = page.wait_for_function("""() => { const l = document.querySelector('#live'), i = l.querySelector('img');
        if (!i || !i.complete || !i.naturalWidth) return null;
        const r = i.getBoundingClientRect();  // the picture as drawn: contained in the img element's box
        return [l.getBoundingClientRect().height, Math.min(r.height, r.width * i.naturalHeight / i.naturalWidth)]; }""",
                                      timeout=30_000)
    box, picture = measured.json_value()
    assert box <= picture + 8, f"the live box is {box:.0f} px tall around a {picture:.0f} px picture"
    page.screenshot(path=str(screenshots(tmp_path) / "phone-painting.png"))
    page.click("#stop")
    page.wait_for_selector("#status :text-matches('Stopped|Done')", timeout=60_000)
    page.close()


def test_a_refused_paint_is_said_and_is_no_server_error(server, browser, tmp_path):  # noqa: F811
    """The visitor read the right sentence, but the browser's console logged an HTTP 500."""
    page = _page(browser, server)
    failed = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    (tmp_path / "notes.jpg").write_text("this is a text file, renamed")
    page.set_input_files("#content input[type=file]", str(tmp_path / "notes.jpg"))
    page.set_input_files("#style input[type=file]", str(EXAMPLES / "styles" / "starry_night.jpg"))
    page.wait_for_timeout(1500)
    page.click("#paint")
    page.wait_for_selector("#status :text('Not painted')", timeout=30_000)
    page.wait_for_timeout(500)
    assert "Please add the photo" in page.inner_text("#status"), page.inner_text("#status")
    assert not failed, failed
    page.close()


def test_print_size_shows_frames_can_be_stopped_and_downloads_the_full_size(server, browser, tmp_path,
                                                                            monkeypatch):  # noqa: F811
    """After a run, Print size offers 2x and 4x with what this machine holds, streams a preview
    (smaller than the print), stops on Stop with the best picture so far, and a print left to
    run gives the full-size PNG, carrying its recipe."""
    import io

    from PIL import Image

    from nst import recipe
    from nst.ui import printing
    from test_browser_steer import _download

    monkeypatch.setattr(printing, "PRINT_SECONDS", 20.0)  # a short print budget: a test's, not a poster's
    monkeypatch.setattr(printing, "PREVIEW", 256)
    page = _page(browser, server)
    _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "starry_night.jpg")
    _advanced(page, size=192, seconds=5)
    page.click("#paint")
    page.wait_for_selector("#status :text('Done')", timeout=60_000)
    page.click("#print_box > button")
    page.wait_for_selector("#print_note :text('up to')", timeout=10_000)
    note = page.inner_text("#print_note")
    page.screenshot(path=str(screenshots(tmp_path) / "print-offer.png"), full_page=True)
    assert re.search(r"Within 20 s this CPU paints up to \d+ px", note), note
    page.locator("#print_factor label", has_text="4× · 768 px").click()
    page.click("#print")
    page.wait_for_selector("#status :text-matches('Painting 768×[0-9]+ px')", timeout=60_000)
    live = "(document.querySelector('#live img') || {}).naturalWidth || 0"
    page.wait_for_function(f"({live}) > 0", timeout=30_000)
    width = page.evaluate(live)
    assert width == 256, f"the live preview is {width} px wide, not the preview's 256"
    page.screenshot(path=str(screenshots(tmp_path) / "print-painting.png"))
    page.click("#stop")
    page.wait_for_selector("#status :text('Stopped')", timeout=60_000)
    page.locator("#print_factor label", has_text="2× · 384 px").click()
    page.click("#print")
    page.wait_for_selector("#status :text('Printed')", timeout=60_000)
    page.wait_for_selector("#print_download", state="visible")
    w, h = map(int, re.search(r"\((\d+)×(\d+) PNG\)", page.inner_text("#print_download")).groups())
    page.screenshot(path=str(screenshots(tmp_path) / "print-done.png"))
    data = _download(page, "#print_download")
    picture = Image.open(io.BytesIO(data))
    assert picture.size == (w, h) and max(w, h) == 384
    (tmp_path / "print.png").write_bytes(data)
    assert recipe.read(tmp_path / "print.png").levels[-1][0] == 384
    page.close()

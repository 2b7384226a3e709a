"""A real visitor in a real browser (Debian's Chromium driven by Playwright; never `playwright
install`): upload a photo and a painting, press Paint, watch the picture change, press Stop.

NST_SCREENSHOTS=DIR saves the screenshots there (scripts/readme_images.py uses it for README);
NST_SHOT_FRAMES=N waits for N picture changes before Stop (default 2: a fast test).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_app import server  # noqa: F401  (the same real server fixture)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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


def _live_src(page) -> str:
    return page.eval_on_selector("#live img", "img => img.src") if page.query_selector("#live img") else ""


@pytest.mark.parametrize("width, height", [(1280, 1000), (390, 1700)], ids=["desktop", "phone"])
def test_paint_watch_it_change_then_stop(server, browser, tmp_path, width, height):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(server)
    page.set_input_files("#content input[type=file]", str(EXAMPLES / "photos" / "chelsea.jpg"))
    page.set_input_files("#style input[type=file]", str(EXAMPLES / "styles" / "swirling_night.jpg"))
    page.wait_for_selector("#content img")
    page.wait_for_selector("#style img")
    page.click("#paint")

    seen, wanted = set(), int(os.environ.get("NST_SHOT_FRAMES", 2))
    for _ in range(1200):  # the picture must change at least `wanted` times while painting
        src = _live_src(page)
        if src:
            seen.add(src)
        if len(seen) > wanted:
            break
        page.wait_for_timeout(100)
    assert len(seen) > wanted, f"the output changed {len(seen) - 1} times, not {wanted}"

    page.click("#stop")
    page.wait_for_selector("#status :text('Stopped')", timeout=30_000)  # ended, best image kept
    page.wait_for_selector("#download", state="visible")
    assert "Stopped" in page.inner_text("#status")
    page.wait_for_timeout(600)  # let the loss plot and the before/after slider settle
    shots = Path(os.environ.get("NST_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"app-{'phone' if width < 600 else 'desktop'}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()

"""The Explore tab in Debian's Chromium: the α/β row without a painting, a rebuild shown at a
readable size, and no label over any picture, on a desktop and on a phone.

NST_SCREENSHOTS=DIR keeps the screenshots (default: the test's temporary folder).
"""
from __future__ import annotations

import os
from pathlib import Path

from test_app import server  # noqa: F401  (the real app on a free port)
from test_browser import DESKTOP, EXAMPLES, PHONE, browser  # noqa: F401  (Debian's Chromium)

# Text laid over a visible picture: every element with text that floats (absolute or fixed) across
# an <img> of the page, but for the picture's own buttons (fullscreen, download, share).
COVERED = """() => {
  const floating = [...document.querySelectorAll('body *')].filter(e => e.checkVisibility({opacityProperty: true})
    && ['absolute', 'fixed'].includes(getComputedStyle(e).position) && e.innerText?.trim()
    && !e.closest('.icon-button-wrapper'));
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  return [...document.querySelectorAll('img')].filter(i => i.checkVisibility() && i.clientWidth >= 40)
    .flatMap(img => floating
      .filter(e => !e.contains(img) && meet(e.getBoundingClientRect(), img.getBoundingClientRect()))
      .map(e => `${img.alt || img.src.split('/').pop()}: "${e.innerText.trim().slice(0, 40)}"`));
}"""


def _slider(page, elem_id: str, value):
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def _run(page, name: str, status: str, **sliders):
    for elem_id, value in sliders.items():
        _slider(page, elem_id, value)
    page.click(f"#{name}")
    page.wait_for_selector(f"#{status} :text('Done')", timeout=240_000)
    return page.inner_text(f"#{status}")


def test_explore_renders_without_a_painting_readably_and_uncovered(server, browser, tmp_path):  # noqa: F811
    page = browser.new_page(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    page.goto(server)
    page.get_by_role("tab", name="Explore").click()
    page.set_input_files("#explore-image input[type=file]", str(EXAMPLES / "photos" / "chelsea.jpg"))
    page.wait_for_selector("#explore-image img")

    said = _run(page, "explore-go", "explore-status", **{"explore-steps": 5})
    assert "Computed at 128×85 px, shown 3× larger" in said, said
    width = page.eval_on_selector("#explore-out img", "i => Math.min(i.clientWidth, i.naturalWidth)")
    assert width >= 360, f"the rebuild is shown {width} px wide"

    said = _run(page, "ratio_row-go", "ratio_row-status", **{"ratio_row-steps": 1, "ratio_row-size": 64})
    assert "The Starry Night" in said, said  # no painting: the example one, and it says so
    assert page.locator("strong:text-is('Painting (empty: The Starry Night)')").count() == 2  # each box's title
    _run(page, "figure-go", "figure-status", **{"figure-steps": 1, "figure-size": 64})
    _run(page, "act-go", "act-status", **{"act-channels": 2})

    shots = Path(os.environ.get("NST_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for name, (w, h) in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(800)
        covered = page.evaluate(COVERED)
        assert not covered, f"on a {name}, over a picture: {covered}"
        page.screenshot(path=str(shots / f"explore-{name}.png"), full_page=True)
    page.close()

"""A run longer than the server's cap, as a visitor sees it in Chromium: cut short, on time, and
still at the full size asked for (the engine drops coarse levels first)."""
from __future__ import annotations

import io
import re
import time

from PIL import Image

from nst.ui import limits
from test_app import server  # noqa: F401  (the real app on a free port)
from test_browser import browser  # noqa: F401  (Debian's Chromium, or a skip with the reason)
from test_browser import set_slider
from test_browser_steer import _download, _load

CAP = 12.0  # s: this server's cap, for this module's server only


def test_a_run_past_the_cap_is_cut_on_time_and_ends_at_full_size(server, browser, monkeypatch):  # noqa: F811
    monkeypatch.setattr(limits, "MAX_SECONDS", CAP)  # what the engine's limit and the ending read
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.goto(server)
    _load(page)
    page.click("#advanced")
    set_slider(page, "size", 320)
    set_slider(page, "steps", 1000)  # minutes of work on any CPU: far past the cap
    clicked = time.monotonic()
    page.click("#paint")
    page.wait_for_selector("#status :text('Painting')", timeout=60_000)
    page.wait_for_selector(f"#status :text('Cut short to end by the {CAP:.0f} s limit')", timeout=120_000)
    waited = time.monotonic() - clicked
    status = page.inner_text("#status")
    steps = int(re.search(r"(\d+) steps in", status).group(1))
    assert steps < 1000 and "320×" in status, status
    assert waited < CAP + 8, waited  # the cap counts from the click; the PNG and time-lapse follow it
    result = Image.open(io.BytesIO(_download(page, "#download")))
    assert max(result.size) == 320, result.size  # the size asked for, not a coarse level's
    page.close()

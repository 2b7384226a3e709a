"""The page around the picture, in Debian's Chromium: the API page, a quiet console, the example
thumbnails' names, a refused upload, and Stop and the steering slider in view on a phone.

NST_SCREENSHOTS=DIR keeps the screenshots (default: the test's temporary folder).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from test_app import server  # noqa: F401  (the real app on a free port)
from test_browser import DESKTOP, EXAMPLES, NOT_AN_IMAGE, PHONE, _advanced, _page, _pictures, screenshots
from test_browser import browser, files  # noqa: F401  (Debian's Chromium; the odd files)

STYLIZE_DOCS = "h3 .post:text-is('/stylize')"  # its heading on the API page
SAMPLE = re.compile(r"handle_file\('([^']+)'\)")
# Every element showing the sentence, toasts included (the innermost ones, as a reader sees them).
SHOWN = """s => [...document.querySelectorAll('body *')].filter(e => e.checkVisibility()
  && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.includes(s))).length"""


def _watched(browser, server, size=DESKTOP):  # noqa: F811
    """A page and what went wrong while it was open: console warnings and errors, failed responses."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    trouble = []
    page.on("console", lambda m: m.type in ("error", "warning") and trouble.append(f"{m.type}: {m.text}"))
    page.on("response", lambda r: r.status >= 400 and trouble.append(f"{r.status} {r.url}"))
    page.goto(server)
    return page, trouble


def _api_page(page):
    page.click("footer .show-api")
    page.wait_for_selector(STYLIZE_DOCS, timeout=30_000)
    page.wait_for_timeout(1000)  # its other requests (the schema, the monitoring summary)


def test_no_request_fails_and_the_console_stays_quiet(server, browser):  # noqa: F811
    """Neither the page nor its API page asks for anything the server does not serve (Gradio's
    API page used to ask for the MCP schema of an app without MCP, a 404 on every visit)."""
    page, trouble = _watched(browser, server)
    page.wait_for_selector(".thumbs img")
    page.wait_for_timeout(1500)
    _api_page(page)
    page.close()
    assert not trouble, trouble


def test_the_api_page_names_every_value_and_samples_the_examples(server, browser, tmp_path):  # noqa: F811
    page, _ = _watched(browser, server)
    _api_page(page)
    text = page.inner_text("body")
    assert not re.findall(r"\b(?:value|parameter|param)_\d+\b", text), "an unnamed value on the API page"
    stylize = text.split("API name: /stylize")[1].split("API name: /")[0]
    urls = SAMPLE.findall(stylize)
    assert [Path(u).name for u in urls] == ["chelsea.jpg", "starry_night.jpg"], stylize[:800]
    for url, local in zip(urls, ("photos/chelsea.jpg", "styles/starry_night.jpg")):
        assert httpx.get(url).content == (EXAMPLES / local).read_bytes(), url  # served as they are
    page.screenshot(path=str(screenshots(tmp_path) / "api-page.png"))
    page.close()


def test_each_example_thumbnail_says_its_name(server, browser, tmp_path):  # noqa: F811
    """Starry night and swirling night look alike: each thumbnail is named for a screen reader
    (its button's accessible name) and on hover (its tooltip)."""
    page = _page(browser, server)
    page.wait_for_selector(".thumbs button.thumbnail-item[title]")
    names = page.eval_on_selector_all(".thumbs button.thumbnail-item",
                                      "bs => bs.map(b => [b.getAttribute('aria-label'), b.title])")
    assert len(names) >= 8 and all(a == t and a and not a.startswith("Thumbnail") for a, t in names), names
    assert len({a for a, _ in names}) == len(names)
    for name in ("starry night", "swirling night", "chelsea"):  # as the accessibility tree has it
        assert page.get_by_role("button", name=name, exact=True).count() == 1, name
    page.get_by_role("button", name="swirling night", exact=True).hover()
    page.screenshot(path=str(screenshots(tmp_path) / "thumbnails.png"), clip=dict(x=0, y=0, width=640, height=560))
    page.close()


def test_a_refused_upload_empties_its_box_and_says_why_once(server, browser, files, tmp_path):  # noqa: F811
    page = _page(browser, server)
    page.set_input_files("#content input[type=file]", str(files / "notes.jpg"))
    page.wait_for_selector(f"#content-note :text('{NOT_AN_IMAGE}')", timeout=15_000)
    page.wait_for_timeout(1500)  # any toast or second message would be up by now
    assert page.evaluate(SHOWN, NOT_AN_IMAGE) == 1
    assert page.query_selector("#content img") is None, "the refused file is still in the box"
    page.screenshot(path=str(screenshots(tmp_path) / "refused-upload.png"), clip=dict(x=0, y=0, width=640, height=560))

    page.set_input_files("#content input[type=file]", str(EXAMPLES / "photos" / "coffee.jpg"))
    page.wait_for_selector("#content img")
    page.wait_for_selector("#content-note", state="hidden")  # a good picture clears the note

    big = files / "big.png"  # over the app's 15 MB upload limit: Gradio refuses it in the page
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(16 * 2**20))
    page.set_input_files("#style input[type=file]", str(big))
    page.wait_for_selector(".toast-body", timeout=15_000)
    page.wait_for_timeout(1000)
    assert page.evaluate(SHOWN, "exceed the maximum allowed size") == 1
    assert page.query_selector("#style img") is None
    page.close()


def test_on_a_phone_stop_and_the_slider_stay_in_view_while_it_paints(server, browser, tmp_path):  # noqa: F811
    shots = screenshots(tmp_path)
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = _page(browser, server, size)
        if size == PHONE:  # Gradio hides the API link on a phone; this page shows it
            page.locator("footer .show-api").scroll_into_view_if_needed()
            assert page.is_visible("footer .show-api")
        _pictures(page, EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "starry_night.jpg")
        _advanced(page, steps=800, size=128)  # runs until Stop
        page.click("#paint")
        page.wait_for_selector("#live img", timeout=60_000)
        page.wait_for_timeout(1500)  # the scroll to the picture
        box = {k: page.locator(sel).bounding_box() for k, sel in
               (("live", "#live"), ("stop", "#stop"), ("slider", "#ratio input[type=range]"))}
        page.screenshot(path=str(shots / f"painting-{name}.png"))
        if size == PHONE:
            assert all(0 <= b["y"] and b["y"] + b["height"] <= size[1] for b in box.values()), box
            assert box["live"]["y"] + box["live"]["height"] <= box["stop"]["y"], box  # not covered
            assert page.evaluate("document.documentElement.scrollWidth") == size[0]  # no sideways scroll
        else:  # the desktop keeps its layout: the controls stay where they are, beside the picture
            assert page.eval_on_selector("#steer", "e => getComputedStyle(e).position") != "fixed"
            assert box["stop"]["x"] + box["stop"]["width"] <= box["live"]["x"], box
        page.click("#stop")
        page.wait_for_selector("#status :text('Stopped')", timeout=30_000)
        page.wait_for_timeout(500)
        assert page.eval_on_selector("#steer", "e => getComputedStyle(e).position") != "fixed"  # back in place
        page.close()

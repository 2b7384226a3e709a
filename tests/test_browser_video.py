"""The Video tab in Chromium: the example clip painted, its frames streaming in, the MP4 playing
inline and downloading."""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import av

from test_app import server  # noqa: F401  (the real app on a free port)
from test_browser import browser  # noqa: F401  (Debian's Chromium, or a skip with the reason)
from test_browser import set_slider
from test_browser_steer import _download

SHOTS = Path(os.environ.get("NST_SCREENSHOTS", tempfile.gettempdir()))
FRAMES = "document.querySelectorAll('#video_frames img').length"


def test_the_video_tab_streams_frames_then_plays_and_downloads_the_mp4(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(server)
    page.get_by_role("tab", name="Video").click()
    page.wait_for_selector("#clip video")  # the example clip is there to start with
    set_slider(page, "video_seconds", 30)
    set_slider(page, "video_size", 96)
    page.click("#paint_video")
    # frames arrive while the clip is still being painted
    page.wait_for_function(f"{FRAMES} >= 2 && /Painting/.test(document.querySelector('#video_status').innerText)",
                           timeout=120_000)
    page.wait_for_selector("#video_status :text('Done')", timeout=180_000)
    assert "12 frames at 6 fps" in page.inner_text("#video_status")
    assert page.evaluate(FRAMES) >= 12
    playing = page.wait_for_function("""(async () => { const v = document.querySelector('#video_result video');
        if (!v) return false; v.muted = true; await v.play().catch(() => {});
        return v.readyState >= 2 && v.duration > 1.5 && v.currentTime > 0 ? v.duration : false; })()""",
                                     timeout=30_000, polling=300)
    assert 1.5 < playing.json_value() < 2.5  # 12 frames at 6 fps
    page.screenshot(path=str(SHOTS / "video-tab.png"), full_page=True)
    with av.open(io.BytesIO(_download(page, "#video_download"))) as box:
        frames = list(box.decode(video=0))
    assert len(frames) == 12 and max(frames[0].width, frames[0].height) in (96, 95)
    page.close()


def test_stop_keeps_the_frames_done_as_a_shorter_clip(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(server)
    page.get_by_role("tab", name="Video").click()
    page.wait_for_selector("#clip video")
    set_slider(page, "video_seconds", 120)
    set_slider(page, "video_size", 64)
    page.click("#paint_video")
    page.wait_for_function(f"{FRAMES} >= 2", timeout=120_000)
    page.click("#stop_video")
    page.wait_for_selector("#video_status :text('Stopped')", timeout=60_000)
    status = page.inner_text("#video_status")
    kept = int(status.split("the first ")[1].split(" of")[0])
    assert 2 <= kept < 12, status
    with av.open(io.BytesIO(_download(page, "#video_download"))) as box:
        assert sum(1 for _ in box.decode(video=0)) == kept
    page.close()

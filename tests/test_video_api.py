"""The /video endpoint over HTTP: a clip painted and returned as an MP4; bad clips refused in words."""
from __future__ import annotations


import av
import pytest
from gradio_client import Client, handle_file

from conftest import cool_painting
from test_app import server  # noqa: F401  (the real app on a free port)
from test_video import _clip_with_audio, pan


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("video")
    _clip_with_audio(d / "clip.mp4", pan(n=4, w=64, h=48), fps=8)
    _clip_with_audio(d / "long.mp4", pan(n=24, w=64, h=48), fps=2)  # 12 s: over the page's 10 s
    _clip_with_audio(d / "many.mp4", pan(n=24, w=64, h=48), fps=6)  # 4 s, as many frames as a CPU paints
    cool_painting(48, 48).save(d / "painting.png")
    (d / "notes.mp4").write_text("this is not a video")
    return d


def _video(server, files, clip, **kw):
    client = Client(server, verbose=False)
    return client.predict(handle_file(str(files / clip)), handle_file(str(files / "painting.png")),
                          api_name="/video", **kw)


def test_a_clip_comes_back_painted_as_an_mp4_with_its_sound(server, files):  # noqa: F811
    gallery, status, result, download = _video(server, files, "clip.mp4", seconds=20, size=64)
    assert "Done" in status and "4 frames at 8 fps" in status, status
    assert len(gallery) == 4
    with av.open(result["value"]) as box:  # an update: the player is shown with the clip in it
        assert box.streams.audio and sum(1 for _ in box.decode(video=0)) == 4


def test_a_clip_leaves_no_file_behind_in_the_apps_folder(server, files):  # noqa: F811
    """Painted clips (and brush masks) stayed in the app's folder for good: served, they go."""
    from nst.ui import files as app_files

    before = set(app_files.OUT_DIR.glob("*")) if app_files.OUT_DIR.exists() else set()
    _video(server, files, "clip.mp4", seconds=20, size=64)
    left = {p for p in app_files.OUT_DIR.glob("*")} - before
    assert not [p for p in left if p.suffix in (".mp4", ".png")], left


def test_a_size_its_budget_cannot_hold_is_refused_before_the_clip(server, files):  # noqa: F811
    """768 px for a whole clip in 10 s can only overrun: said before a frame is painted, with the
    same kind of sentence as /stylize's."""
    client = Client(server, verbose=False)
    with pytest.raises(Exception) as err:
        client.predict(handle_file(str(files / "many.mp4")), handle_file(str(files / "painting.png")),
                       api_name="/video", seconds=10, size=768)
    said = str(err.value)
    assert "10 s cannot hold 24 frames at 768 px on this machine" in said and "Traceback" not in said, said


@pytest.mark.parametrize("clip, kw, words", [
    ("notes.mp4", {}, "cannot read notes.mp4 as a video"),
    ("long.mp4", {}, "at most 10 s here"),
    ("clip.mp4", {"seconds": 100000}, "greater than maximum value 180"),  # the slider's own bound
    ("clip.mp4", {"painting": "notes.mp4"}, "the painting"),
])
def test_bad_clips_and_settings_are_refused_in_words(server, files, clip, kw, words):  # noqa: F811
    painting = kw.pop("painting", "painting.png")
    client = Client(server, verbose=False)
    with pytest.raises(Exception) as err:
        client.predict(handle_file(str(files / clip)), handle_file(str(files / painting)), api_name="/video", **kw)
    said = str(err.value)
    assert words.lower() in said.lower() and "Traceback" not in said, said


def test_on_zerogpu_a_clip_asks_for_its_own_budget():
    from nst.ui import limits, video

    assert video.gpu_seconds(None, None, None, 60) == 60 + limits.START_UP
    assert video.gpu_seconds(None, None, None, 10_000) == limits.MAX_SECONDS + limits.START_UP

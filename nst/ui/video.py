"""The Video tab and its /video endpoint: a short clip painted frame by frame (nst/video.py), the
finished frames streaming in as the clip grows, then the MP4 to play and download."""
from __future__ import annotations

import math
import time
from pathlib import Path

import gradio as gr
from PIL import Image

from .. import clipio
from ..budget import check_clip
from ..settings import Settings
from ..video import paint_clip
from . import files, limits, refusals, runs
from .contract import _number
from .examples import EXAMPLES, SAMPLE_PAINTING, STYLES, picker, thumbs
from .image_input import image_input, with_example
from .paint import _arm, _stop

CLIP_SECONDS = 10.0  # the longest clip this page takes
# Frames painted at most: a longer clip is thinned (every k-th frame, at 1/k of its rate), so a
# budget still buys a real picture per frame on a CPU.
KEEP = 96 if limits.GPU else 24
CLIP_LIMITS = clipio.ClipLimits(max_frames=int(CLIP_SECONDS * 240), max_seconds=CLIP_SECONDS, max_side=limits.WORK_SIDE // 2)
DEFAULT_SECONDS = 60
LIVE_EVERY = 0.4  # s: how often the frame being painted is shown
EXAMPLE_CLIP = EXAMPLES / "clips" / "chelsea_pan.mp4"


def _settings(seconds, size) -> Settings:
    """The clip's budget and size, checked by Settings.validate with this server's Limits."""
    seconds = _number("seconds", seconds)
    size = _number("size", size) or None
    return Settings(size=size, seconds=seconds, frame_seconds=LIVE_EVERY).validate(limits=limits.LIMITS)


def _clip(path):
    if path in (None, ""):
        raise ValueError("please add a clip (mp4, webm, mov or gif, up to "
                         f"{CLIP_SECONDS:g} s)")
    return clipio.read_clip(path, CLIP_LIMITS, keep=KEEP)


def gpu_seconds(frames, styles, settings, seconds, *args, **kwargs) -> int:
    """What a ZeroGPU call asks for: the clip's own budget and start-up."""
    return int(min(seconds, limits.MAX_SECONDS) + limits.START_UP)


def painted_frames(frames, styles, settings, seconds, cancel, started):
    yield from paint_clip(frames, styles, settings, seconds=seconds, cancel=cancel, started=started,
                          limit=limits.MAX_SECONDS, live=True)


painted_frames = runs.on_device(painted_frames, gpu_seconds)


def video(clip: str, style: str, seconds: float = DEFAULT_SECONDS, size: int = 0,
          request: gr.Request = None):
    """Paint a short video clip in the style of a painting (Ruder, Dosovitskiy & Brox 2016): each
    frame starts from the painted frame before it, warped by the optical flow, and is held to it,
    so the strokes stay put instead of flickering. Streams the finished frames, then the MP4.

    Args:
        clip: the video (mp4, webm, mov or gif), at most 10 s; a clip with more frames than this server paints is thinned (every k-th frame, at 1/k of the rate).
        style: the painting.
        seconds: the time budget for the whole clip, in seconds, __CAP__; no clip is painted past it.
        size: the frames' long side in px; 0 = what the budget buys on this machine. A size the budget cannot hold (even one step a frame, by this machine's measured speed) is refused before the clip is painted.
    """
    started = time.perf_counter()
    try:
        s = _settings(seconds, size)
        source = _clip(clip)
        styles = [refusals.picture("the painting", style)]
        if not limits.ON_ZEROGPU:  # there the run's GPU is not this process's device
            check_clip(s, source.frames[0].size, len(source.frames), s.seconds, measure=False)
    except ValueError as e:
        yield gr.skip(), f"**Not painted.** {refusals.sentence(e)}", gr.skip(), gr.skip()
        raise refusals.refuse(e, "Not painted") from None
    n, paths, out = len(source.frames), [], None
    yield [], _said(f"**Painting** frame 1 of {n} · {_size(s)}", s, started), gr.skip(), gr.skip()
    try:
        with runs.RUNS.run(runs.session_of(request)) as cancel, files.Shown() as show:
            frames = painted_frames(source.frames, styles, s.replace(seconds=None), s.seconds,
                                    None if limits.ON_ZEROGPU else cancel, started)
            shown = 0.0
            for f in frames:
                if not f.done:  # the frame being painted, a few times a second
                    if time.perf_counter() - shown >= LIVE_EVERY:
                        shown = time.perf_counter()
                        yield ([*paths, show(f.image, "webp")], _said(f"**Painting** frame {f.index + 1} of {n} · "
                                                        f"{f.image.width}×{f.image.height} px · step {f.steps}", s,
                                                        started), gr.skip(), gr.skip())
                    continue
                paths.append(files.save_png(f.image))
                yield (list(paths), _said(f"**Painted** frame {len(paths)} of {n} · {f.image.width}×{f.image.height} px",
                                          s, started), gr.skip(), gr.skip())
                if cancel.is_set():  # ZeroGPU's run cannot see the Event: it ends here, at a frame
                    frames.close()
                    break
        if not paths:
            yield gr.skip(), "**Stopped** before the first frame was painted.", gr.skip(), gr.skip()
            return
        out = yield from _finished(paths, source, n, started)
    except (ValueError, FloatingPointError, RuntimeError) as e:
        err = refusals.failure(e)
        yield gr.skip(), f"**{err.title}.** {err.message}", gr.skip(), gr.skip()
        raise err from None
    finally:
        for p in (*paths, out):  # Gradio has copied them into its cache by now
            if p:
                Path(p).unlink(missing_ok=True)


def _size(s: Settings) -> str:
    return f"{s.size} px" if s.size else "at the size this budget buys"


def _said(text: str, s: Settings, started: float) -> str:
    """A status line with the clip's own countdown."""
    left = max(0.0, s.seconds - (time.perf_counter() - started))
    return f"{text} · about {math.ceil(left)} s left"


def _finished(paths: list, source, n: int, started: float):
    """The clip written and offered: a Stopped clip keeps the frames from the start, without the
    sound. Yields the last update; returns the file's path (to delete once served)."""
    frames = [Image.open(p) for p in paths]
    stopped = len(frames) < n
    out = _save_clip(frames, source.fps, None if stopped else source.source)
    said = (f"**Stopped** · the first {len(frames)} of {n} frames, without the sound" if stopped else
            f"**Done** · {n} frames at {float(source.fps):.3g} fps")
    yield (list(paths), f"{said} · {frames[0].width}×{frames[0].height} px · {time.perf_counter() - started:.0f} s",
           gr.update(value=out, visible=True), gr.update(value=out, visible=True))
    return out


video.__doc__ = video.__doc__.replace("__CAP__", f"up to {limits.MAX_SECONDS:.0f}")


def _save_clip(frames, fps, sound_from) -> str:
    return str(clipio.write_clip(frames, files.out_path("painted-clip", ".mp4"), fps, sound_from))


def _starting(request: gr.Request) -> str:
    """The moment Paint the clip is pressed: Stop reaches its run from now on, and the page says
    what is happening before the clip is even read."""
    _arm(request)
    return "**Starting** · reading the clip…"


def build():
    """The tab; its Paint arms and its Stop reaches the session's runs as the Paint tab's do."""
    gr.Markdown(f"Paint a short clip (up to {CLIP_SECONDS:g} s; at most {KEEP} frames are painted on this "
                f"machine's {'GPU' if limits.GPU else 'CPU'}, a longer clip is thinned; no clip paints past "
                f"{limits.MAX_SECONDS:.0f} s). Each frame starts from "
                "the one before, carried along by the optical flow, so the brush strokes stay put "
                "([Ruder et al. 2016](https://arxiv.org/abs/1604.08610)).", elem_classes="caption")
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            clip = with_example(gr.Video(label="Clip", sources=["upload"], height=220, elem_id="clip",
                                         value=str(EXAMPLE_CLIP), include_audio=True), EXAMPLE_CLIP)
            style = image_input(SAMPLE_PAINTING, label="Painting", height=180, elem_id="video_style",
                                sources=["upload"], value=str(STYLES[0]))
            gallery = thumbs(STYLES, "Example paintings")
            seconds = gr.Slider(10, limits.MAX_SECONDS, DEFAULT_SECONDS, step=5, label="Seconds for the whole clip",
                                elem_id="video_seconds")
            size = gr.Slider(0, limits.LIMITS.max_size, 0, step=32, label="Size in px (0 = what the time buys)",
                             elem_id="video_size")
            with gr.Row():
                go = gr.Button("Paint the clip", variant="primary", elem_id="paint_video")
                stop = gr.Button("Stop", variant="stop", elem_id="stop_video")
        with gr.Column(scale=2, min_width=280):
            status = gr.Markdown("Pick a clip and a painting, then press **Paint the clip**.", elem_id="video_status")
            frames = gr.Gallery(label="Painted frames", columns=6, height=260, elem_id="video_frames",
                                object_fit="contain", allow_preview=True)
            result = gr.Video(label="The painted clip", visible=False, autoplay=True, loop=True,
                              elem_id="video_result", height=300)
            download = gr.DownloadButton("Download MP4", visible=False, elem_id="video_download")
    page = dict(api_visibility="private")
    gallery.select(picker(STYLES), None, style, queue=False, **page)
    go.click(_starting, None, status, queue=False, **page).then(
        video, [clip, style, seconds, size], [frames, status, result, download], api_name="video",
        concurrency_limit=1, concurrency_id="device", show_progress="minimal")
    stop.click(_stop, None, None, queue=False, **page)

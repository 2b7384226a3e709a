"""Clips in and out: decode a video file (mp4, webm, mov, gif, ...) or a folder of frames, and
encode painted frames as MP4 (H.264), WebM (VP9) or a folder of PNGs. PyAV bundles FFmpeg, so no
system ffmpeg is needed. The frame rate is kept, and the audio when there is any.

Every refusal is a ValueError with one sentence.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image

from .intake import ImageError, open_image

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif", ".m4v")
WRITE_SUFFIXES = {".mp4": ("libx264", "aac"), ".webm": ("libvpx-vp9", "libopus")}
FOLDER_FPS = Fraction(24)  # a folder of frames says no rate of its own


@dataclass(frozen=True)
class ClipLimits:
    """What one clip may be: a server passes tighter ones."""
    max_frames: int = 10_000
    max_seconds: float = 3600.0
    max_side: int = 4096  # frames are shrunk to this long side as they are decoded


@dataclass
class Clip:
    frames: list  # PIL RGB images, one size
    fps: Fraction
    source: Path | None = None  # the video file (its audio is copied), None for a folder

    @property
    def seconds(self) -> float:
        return len(self.frames) / float(self.fps)


def read_clip(path, limits: ClipLimits = ClipLimits(), fps: float | None = None, keep: int | None = None) -> Clip:
    """The frames of a video file, or of a folder's images sorted by name. `keep`: at most this
    many frames, every k-th one at 1/k of the rate, so the clip keeps its length (a server's cap)."""
    path = Path(path)
    if path.is_dir():
        clip = _read_folder(path, limits, Fraction(fps).limit_denominator(1001) if fps else FOLDER_FPS)
        every = -(-len(clip.frames) // keep) if keep else 1
        return Clip(clip.frames[::every], clip.fps / every)
    if not path.is_file():
        raise ValueError(f"no clip at {str(path)!r}: give a video file or a folder of frames")
    return _read_video(path, limits, keep)


def _shrunk(img: Image.Image, max_side: int) -> Image.Image:
    img = img.convert("RGB")
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.LANCZOS)
    return img


def _read_folder(path: Path, limits: ClipLimits, fps: Fraction) -> Clip:
    files = sorted(f for f in path.iterdir() if f.is_file() and not f.name.startswith("."))
    if not files:
        raise ValueError(f"the folder {str(path)!r} has no frames in it")
    if len(files) > limits.max_frames:
        raise ValueError(f"the folder {str(path)!r} has {len(files)} frames; at most {limits.max_frames} here")
    frames = []
    for f in files:
        try:
            frames.append(_shrunk(open_image(f), limits.max_side))
        except ImageError as e:
            raise ValueError(f"{f.name}: {e}") from None
    sizes = {im.size for im in frames}
    if len(sizes) > 1:
        raise ValueError(f"the frames in {str(path)!r} differ in size ({', '.join(f'{w}x{h}' for w, h in sorted(sizes)[:3])}): "
                         "a clip's frames share one size")
    return Clip(frames, fps)


def _read_video(path: Path, limits: ClipLimits, keep: int | None = None) -> Clip:
    import av

    try:
        with av.open(str(path)) as box:
            if not box.streams.video:
                raise ValueError(f"{path.name} has no video in it")
            stream = box.streams.video[0]
            fps = Fraction(stream.average_rate or stream.guessed_rate or 24)
            if box.duration and box.duration / av.time_base > limits.max_seconds + 0.5:
                raise ValueError(f"{path.name} is {box.duration / av.time_base:.1f} s long; "
                                 f"at most {limits.max_seconds:g} s here")
            count = stream.frames or (round(float(box.duration / av.time_base * fps)) if box.duration else 0)
            every = max(1, -(-count // keep)) if keep and count else 1
            frames, seen = [], 0
            for frame in box.decode(stream):
                if seen >= limits.max_frames or seen / fps > limits.max_seconds:
                    raise ValueError(f"{path.name} has more than {limits.max_frames} frames or "
                                     f"{limits.max_seconds:g} s; at most that here")
                if seen % every == 0:  # only the frames kept are converted and held
                    frames.append(_shrunk(frame.to_image(), limits.max_side))
                seen += 1
            fps = fps / every
    except av.error.FFmpegError:
        raise ValueError(f"cannot read {path.name} as a video (mp4, webm, mov, gif, ...)") from None
    if not frames:
        raise ValueError(f"{path.name} has no frames in it")
    return Clip(frames, fps, source=path)


def check_output(out) -> Path:
    """Refuse an output the clip could not be written to, before painting it."""
    out = Path(out)
    if out.suffix and out.suffix.lower() not in WRITE_SUFFIXES:
        raise ValueError(f"cannot write a clip to {str(out)!r}: use .mp4, .webm or a folder (no extension)")
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    return out


def frame_name(i: int, n: int) -> str:
    """Names that sort in input order: frame_001.png ... for a clip of up to 999 frames."""
    return f"frame_{i:0{max(3, len(str(n)))}d}.png"


def write_clip(frames: list, out, fps: Fraction, audio_from: Path | None = None) -> Path:
    """MP4 / WebM by the suffix, else a folder of PNGs; the audio of `audio_from`, if any, along."""
    out = check_output(out)
    if not out.suffix:
        out.mkdir(exist_ok=True)
        for i, im in enumerate(frames, 1):
            im.save(out / frame_name(i, len(frames)))
        return out
    import av

    video_codec, audio_codec = WRITE_SUFFIXES[out.suffix.lower()]
    w, h = (frames[0].width // 2 * 2, frames[0].height // 2 * 2)  # 4:2:0 needs even sides
    with av.open(str(out), "w") as box:
        v = box.add_stream(video_codec, rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        if video_codec == "libx264":
            v.options = {"crf": "18", "preset": "medium"}
        audio = _open_audio(audio_from, box, audio_codec) if audio_from else None
        for im in frames:
            picture = im if im.size == (w, h) else im.crop((0, 0, w, h))
            for packet in v.encode(av.VideoFrame.from_image(picture.convert("RGB"))):
                box.mux(packet)
        for packet in v.encode():
            box.mux(packet)
        if audio:
            audio()
    return out


def _open_audio(source: Path, box, codec: str):
    """Add an audio stream to `box` for the source's audio; returns the function that copies it
    (re-encoded: the source's codec may not fit the container), or None when it has none."""
    import av

    src = av.open(str(source))
    if not src.streams.audio:
        src.close()
        return None
    a_in = src.streams.audio[0]
    rate = 48000 if codec == "libopus" else (a_in.rate or 44100)
    a_out = box.add_stream(codec, rate=rate)
    a_out.layout = "stereo"
    fmt = a_out.codec_context.codec.audio_formats[0].name
    resample = av.AudioResampler(format=fmt, layout="stereo", rate=rate)

    def copy():
        with src:
            for frame in src.decode(a_in):
                for r in resample.resample(frame):
                    for packet in a_out.encode(r):
                        box.mux(packet)
            for r in resample.resample(None):
                for packet in a_out.encode(r):
                    box.mux(packet)
            for packet in a_out.encode():
                box.mux(packet)
    return copy

"""`python -m nst video CLIP STYLE [STYLE ...] -o OUT` and `python -m nst batch PHOTOS STYLE -o DIR`.

video: a clip (a video file or a folder of frames) painted frame by frame, each from the one before
(nst/video.py), written as MP4, WebM or a folder of PNGs with the clip's rate and audio.
batch: every photo of a folder painted on its own, one PNG each.
--workers N spreads the work over N Ray workers (nst/scale.py); RAY_ADDRESS joins a cluster.
Ctrl-C stops every worker after its current step and keeps the frames (or photos) done so far.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .. import settings as S
from .common import Parser, ctrl_c, exit_code, open_file, process_start


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("styles", nargs="+", metavar="style", help="one or more paintings")
    p.add_argument("-o", "--output", required=True)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="time budget for all of it, from this command's start")
    budget.add_argument("--steps", type=int, help="steps per picture (a clip: for its first frame; "
                        "later frames, which start from the one before, take a third)")
    p.add_argument("--size", type=int, help="long side in px (default: what the budget buys, else 256)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=S.PRECISIONS, default="auto")
    p.add_argument("--workers", type=int, help="paint on N Ray workers (a local cluster, or the one "
                   "at RAY_ADDRESS); without it Ray is not used")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="nst", description="Paint a video or a batch of photos (see nst --help for one photo).")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("video", help="paint a clip, each frame from the one before (Ruder et al. 2016)")
    v.add_argument("clip", help="a video file (mp4, webm, mov, gif) or a folder of frames sorted by name")
    _common(v)
    v.add_argument("--fps", type=float, help="the rate of a folder of frames (default 24)")
    v.add_argument("--temporal-weight", type=float, default=S.Settings.temporal_weight,
                   help="gamma: how strongly a frame is held to the one before (0 = not at all)")
    b = sub.add_parser("batch", help="paint every photo of a folder on its own")
    b.add_argument("photos", help="a folder of photos")
    _common(b)
    return p


def _settings(a, n_styles: int) -> S.Settings:
    s = S.Settings(size=a.size, seed=a.seed, precision=a.precision, frame_every=S.MAX_STEPS,
                   temporal_weight=getattr(a, "temporal_weight", S.Settings.temporal_weight))
    if a.steps is not None:
        s = s.replace(steps=a.steps)
    if a.workers is not None and a.workers < 1:
        raise ValueError(f"--workers must be 1 or more, got {a.workers}")
    if a.seconds is not None and not a.seconds > 0:
        raise ValueError(f"--seconds must be > 0, got {a.seconds}")
    return s.validate(n_styles=n_styles)


def _workers(a) -> int:
    if a.workers is None and not os.environ.get("RAY_ADDRESS"):
        return 1  # Ray is never imported
    from .. import scale

    return scale.start(a.workers)


def run_video(a) -> None:
    from tqdm import tqdm

    from .. import clipio, video

    started = process_start()
    out = clipio.check_output(a.output)
    clip = clipio.read_clip(a.clip, fps=a.fps)
    styles = [open_file(p) for p in a.styles]
    s = _settings(a, len(styles))
    painted = {}
    with ctrl_c() as cancel:  # Ctrl-C: every worker ends its step, the frames done are kept
        workers = _workers(a)
        runner = None
        if workers > 1:
            from .. import scale

            runner = scale.chunk_runner(workers, s.weights)
        bar = tqdm(total=len(clip.frames), unit="frame", disable=a.quiet, dynamic_ncols=True)
        reserve = 0.3 + 0.05 * len(clip.frames)  # the encoder and the closing line
        try:
            for f in video.paint_clip(clip.frames, styles, s, seconds=a.seconds and a.seconds - reserve,
                                      steps=a.steps, started=started, cancel=cancel, workers=workers,
                                      chunk_runner=runner):
                painted[f.index] = f
                bar.update(1)
                bar.set_postfix(frame=f.index + 1, style=f"{f.losses['style']:.3g}", refresh=False)
        finally:
            bar.close()
    _write_clip(clip, painted, out, started, workers, cancel.is_set())


def _write_clip(clip, painted: dict, out: Path, started: float, workers: int, stopped: bool) -> None:
    """A stopped clip keeps its frames from the start up to the first one not painted."""
    from .. import clipio, flow

    n = next((k for k in range(len(clip.frames)) if k not in painted), len(clip.frames))
    if not n:
        raise ValueError("stopped before the first frame was painted: nothing to write")
    frames = [painted[k].image for k in range(n)]
    clipio.write_clip(frames, out, clip.fps, clip.source)
    wall = time.perf_counter() - started
    inputs = [im.resize(frames[0].size) for im in clip.frames[:n]]
    times = sorted(f.elapsed for f in painted.values())
    per_frame = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else times[0]
    print(f"wrote {out} ({n} of {len(clip.frames)} frames, {frames[0].width}x{frames[0].height}, "
          f"{float(clip.fps):.3g} fps, {wall:.1f} s from start, {per_frame:.1f} s per frame after the first, "
          f"{workers} worker{'s' * (workers > 1)}); temporal error {flow.temporal_error(frames, inputs):.1f}"
          + (" (stopped early)" if stopped else ""), file=sys.stderr)


def run_batch(a) -> None:
    from tqdm import tqdm

    started = process_start()
    folder, out = Path(a.photos), Path(a.output)
    if not folder.is_dir():
        raise ValueError(f"no folder of photos at {str(folder)!r}")
    files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    if not files:
        raise ValueError(f"the folder {str(folder)!r} has no photos in it")
    photos = [open_file(str(f)) for f in files]
    styles = [open_file(p) for p in a.styles]
    s = _settings(a, len(styles))
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with ctrl_c() as cancel:  # Ctrl-C: the photos being painted end with their best; no other starts
        workers = _workers(a)
        if a.seconds is not None:  # the budget is for the batch: each photo gets its share of it
            rounds = -(-len(photos) // workers)
            s = s.replace(seconds=(a.seconds - (time.perf_counter() - started) - 0.5) / rounds)
        with tqdm(total=len(photos), unit="photo", disable=a.quiet, dynamic_ncols=True) as bar:
            for f, frame in zip(files, _painted(photos, styles, s, workers, cancel)):
                if frame is not None:
                    frame.image.save(out / f"{f.stem}.png")
                    written += 1
                bar.update(1)
    print(f"wrote {written} of {len(photos)} pictures to {out} in {time.perf_counter() - started:.1f} s "
          f"({workers} worker{'s' * (workers > 1)})" + (" (stopped early)" if cancel.is_set() else ""),
          file=sys.stderr)


def _painted(photos, styles, s: S.Settings, workers: int, cancel):
    """Each photo's final frame in order; None for a photo a stop came before."""
    if workers > 1:
        from .. import scale

        yield from scale.paint_photos(photos, styles, s, workers, cancel)
        return
    from ..engine import run

    for p in photos:
        yield None if cancel.is_set() else run(p, styles, s, cancel=cancel)


def main(argv: list[str]) -> int:
    a = build_parser().parse_args(argv)
    return exit_code(lambda: (run_video if a.command == "video" else run_batch)(a))

"""Steadier video, at what cost? (a benchmark): clips made here whose motion is known (a pan and
zoom across a photo; an object sliding over one), painted three ways by the CLI in fresh processes:
- video mode: `python -m nst video CLIP PAINTING -o OUT --size 256 --seconds 100`;
- the same with `--workers 2` (a local Ray cluster);
- each frame alone: `python -m nst FRAME PAINTING -o F.png --size 256 --seconds 20`, the same total time.
Flicker is the temporal error (nst/flow.py: painted frame k against painted frame k-1 warped by the
input's flow, over reliable pixels); style is the paper's L_style of each frame, averaged, and each
frame's against the first's; what the clip revealed (pixels the first frame did not show, followed by
the flow) is judged by how far it was painted from the photo against the rest of the last frame.

    python bench/video.py                     # both clips, 5 frames, --size 256 --seconds 100
    python bench/video.py --frames 5 --size 128 --seconds 40 --clips pan
    python bench/video.py --clips window --frames 10 --seconds 60 --no-ray   # a pure pan, no Ray
    python bench/video.py --clips example --frames 12 --size 0 --seconds 60 --no-ray   # the Video tab's
    python bench/video.py --webp docs/video.webp   # also README's side-by-side clip
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench import host_kind, machine  # noqa: E402  (bench/bench.py)
from nst import clipio, flow  # noqa: E402
from nst.yardstick import grain_ratio, paper_losses  # noqa: E402
from nst.speed import resolve_device  # noqa: E402

EX = ROOT / "examples"
PAINTING = EX / "styles" / "the_scream.jpg"  # held out with both photos (bench/quality.py)
STROKE = 3.0  # px: the blur that leaves a painting's strokes and takes its pixel grain away


def pan_zoom(n: int) -> list:
    """The camera pans right and zooms in across coffee.jpg: 3 % of the width and 2 % zoom a frame."""
    photo = Image.open(EX / "photos" / "coffee.jpg").convert("RGB")
    w, h = photo.size
    out = []
    for k in range(n):
        z = 1 + 0.02 * k
        cw, ch = 0.7 * w / z, 0.7 * h / z
        x0, y0 = 0.05 * w + 0.03 * w * k, 0.15 * h
        out.append(photo.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch))).resize((384, 256), Image.LANCZOS))
    return out


def sliding(n: int) -> list:
    """A disc cut from astronaut.jpg slides right over chelsea.jpg, 12 px a frame (at 384 px)."""
    back = Image.open(EX / "photos" / "chelsea.jpg").convert("RGB").resize((384, 256), Image.LANCZOS)
    thing = Image.open(EX / "photos" / "astronaut.jpg").convert("RGB").resize((96, 96), Image.LANCZOS)
    disc = Image.new("L", (96, 96), 0)
    ImageDraw.Draw(disc).ellipse((0, 0, 95, 95), fill=255)
    out = []
    for k in range(n):
        f = back.copy()
        f.paste(thing, (60 + 12 * k, 80), disc)
        out.append(f)
    return out


def window(n: int) -> list:
    """A 256 x 192 window slides right across astronaut.jpg (at 384 px), 12 px a frame: a pure pan,
    each frame bringing in a 12 px strip the one before did not show."""
    photo = Image.open(EX / "photos" / "astronaut.jpg").convert("RGB").resize((384, 384), Image.LANCZOS)
    return [photo.crop((12 * k, 96, 12 * k + 256, 288)) for k in range(n)]


def example(n: int) -> list:
    """The Video tab's own example (a pan across chelsea's eyes), as the app reads it: its first n
    of the at most 24 frames the app keeps."""
    return clipio.read_clip(EX / "clips" / "chelsea_pan.mp4", keep=24).frames[:n]


CLIPS = {"pan": pan_zoom, "object": sliding, "window": window, "example": example}


def revealed(frames: list) -> np.ndarray:
    """(H, W) bool: the pixels of the last frame that the first did not show, followed frame to
    frame by the input's flow (new where the warp is unreliable; carried where it is), thin motion
    boundaries left out (a 5 x 5 erosion), at the frames' size."""
    import cv2

    h, w = frames[0].size[::-1]
    new = np.zeros((h, w), np.float32)
    for k in range(1, len(frames)):
        back, fwd = flow.flow(frames[k], frames[k - 1]), flow.flow(frames[k - 1], frames[k])
        c = flow.reliability(back, fwd)
        new = np.maximum(1 - c, flow.warp(new, back) * c)  # a 2-D map stays 2-D through the warp
    return cv2.erode((new > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0


def cli(*args) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "nst", *map(str, args), "-q"], cwd=ROOT, capture_output=True,
                       text=True, check=True)
    return time.perf_counter() - t, r.stderr


def measure(painted: list, frames: list) -> dict:
    """Flicker, style per frame, and how far what the clip revealed was painted: the last frame's
    mean |painted - photo| over the revealed pixels, over the same of the rest (1: as far)."""
    size = painted[0].size
    inputs = [f.resize(size, Image.LANCZOS) for f in frames]
    painting = Image.open(PAINTING).convert("RGB")
    styles = [paper_losses(p, f, painting)["style"] for p, f in zip(painted, inputs)]
    new = revealed(inputs)
    reveal = strokes = grain_new = None
    if new.any() and (~new).any():
        reveal, strokes = (_far_over_rest(painted[-1], inputs[-1], new, blur) for blur in (0, STROKE))
        grain_new = grain_ratio(painted[-1], painting, Image.fromarray(new.astype(np.uint8) * 255))
    return {"temporal_error": round(flow.temporal_error(painted, inputs), 2), "style": float(np.mean(styles)),
            "style_each": styles, "last_style_over_first": styles[-1] / styles[0],
            "worst_style_over_first": max(styles) / styles[0], "revealed_share": float(new.mean()),
            "revealed_over_rest": reveal, "revealed_strokes_over_rest": strokes, "revealed_grain": grain_new,
            "grain_last": grain_ratio(painted[-1], painting)}


def _far_over_rest(painted: Image.Image, photo: Image.Image, new: np.ndarray, blur: float) -> float:
    """Mean |painted - photo| over the `new` pixels, over the same of the rest; both pictures
    first blurred by a Gaussian of `blur` px (0: none), so the grain does not count as distance."""
    import cv2

    a, b = (np.asarray(im, np.float32) for im in (painted, photo))
    if blur:
        a, b = (cv2.GaussianBlur(x, (0, 0), blur) for x in (a, b))
    far = np.abs(a - b).mean(-1)
    return float(far[new].mean() / far[~new].mean())


def sized(a, like: Image.Image | None = None) -> list:
    """--size as asked; with --size 0, none for the clip (the time decides) and the clip's own for
    the frames alone, so each frame is judged against its like at one size."""
    size = a.size or (max(like.size) if like is not None else None)
    return ["--size", size] if size else []


def one_clip(name: str, a, tmp: Path) -> tuple[dict, dict]:
    frames = CLIPS[name](a.frames)
    d = tmp / name
    d.mkdir()
    for k, f in enumerate(frames):
        f.save(d / f"{k:02d}.png")
    rows, pictures = {}, {}
    modes = (("video", []),) + ((("video, 2 Ray workers", ["--workers", 2]),) if a.ray else ())
    for mode, extra in modes:
        out = tmp / f"{name}-{len(extra)}"
        wall, log = cli("video", d, PAINTING, "-o", out, *sized(a), "--seconds", a.seconds, *extra)
        pics = [Image.open(p).convert("RGB") for p in sorted(out.glob("frame_*.png"))]
        per = float(re.search(r"([\d.]+) s per frame after the first", log)[1])
        rows[mode] = {"wall_s": round(wall, 1), "s_per_later_frame": per, **measure(pics, frames)}
        pictures[mode] = pics
        print(f"{name} {mode}: {rows[mode]}", flush=True)
    alone, wall = [], 0.0
    for k in range(a.frames):
        t, _ = cli(d / f"{k:02d}.png", PAINTING, "-o", tmp / f"{name}-alone-{k}.png", *sized(a, pics[0]),
                   "--seconds", a.seconds / a.frames)
        wall += t
        alone.append(Image.open(tmp / f"{name}-alone-{k}.png").convert("RGB"))
    rows["each frame alone"] = {"wall_s": round(wall, 1), "s_per_later_frame": round(wall / a.frames, 1),
                                **measure(alone, frames)}
    pictures["each frame alone"] = alone
    print(f"{name} alone: {rows['each frame alone']}", flush=True)
    return rows, pictures


def side_by_side(pictures: dict, out: Path, fps: float = 4) -> None:
    """Video mode | each frame alone, as a looping animated WebP."""
    left, right = pictures["video"], pictures["each frame alone"]
    w, h = left[0].size
    sheet = []
    for a, b in zip(left, right):
        s = Image.new("RGB", (2 * w + 6, h), "white")
        s.paste(a, (0, 0))
        s.paste(b.resize((w, h)), (w + 6, 0))
        sheet.append(s)
    sheet[0].save(out, format="WEBP", save_all=True, append_images=sheet[1:], duration=round(1000 / fps),
                  loop=0, quality=80, method=4)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    p.add_argument("--frames", type=int, default=5)
    p.add_argument("--size", type=int, default=256, help="0: the size the time buys, as the app's default")
    p.add_argument("--seconds", type=float, default=100.0, help="for the whole clip (each frame alone: a share)")
    p.add_argument("--no-ray", dest="ray", action="store_false", help="leave out the two-worker Ray run")
    p.add_argument("--webp", help="write the first clip's video-mode | frames-alone side by side here")
    p.add_argument("--out", help="JSON path (default bench/results/video-<host-kind>.json)")
    a = p.parse_args(argv)
    info = machine(resolve_device("auto"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(a.clips):
            results[name], pictures = one_clip(name, a, Path(tmp))
            if a.webp and i == 0:
                side_by_side(pictures, Path(a.webp))
    print(f"\nMachine: {info['cpu']} ({info['cores']} cores, {info['simd']}), torch {info['torch']}; "
          f"`python bench/video.py{' ' + ' '.join(sys.argv[1:]) if argv is None and sys.argv[1:] else ''}`"
          f"; {a.frames} frames at {f'{a.size} px' if a.size else 'the size the time buys'}, {a.seconds:g} s per clip, "
          "painting: The Scream\n")
    print("| clip | mode | wall s | s per frame after the first | temporal error | ÷ alone | style loss | ÷ alone "
          "| last frame's style ÷ first's | worst ÷ first | revealed: share, distance from photo ÷ the rest's "
          f"(at stroke scale, σ = {STROKE:g} px) | its grain ÷ painting's | last frame's grain ÷ painting's "
          "| worst frame's style ÷ the same frame alone |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        base = rows["each frame alone"]
        for mode, r in rows.items():
            reveal, rgrain = ("–", "–") if r["revealed_over_rest"] is None else (
                f"{r['revealed_share']:.0%}, {r['revealed_over_rest']:.2f} ({r['revealed_strokes_over_rest']:.2f})",
                f"{r['revealed_grain']:.2f}")
            print(f"| {name} | {mode} | {r['wall_s']:.0f} | {r['s_per_later_frame']:.1f} | {r['temporal_error']:.1f} | "
                  f"{r['temporal_error'] / base['temporal_error']:.2f} | {r['style']:.3g} | {r['style'] / base['style']:.2f} | "
                  f"{r['last_style_over_first']:.2f} | {r['worst_style_over_first']:.2f} | {reveal} | {rgrain} | {r['grain_last']:.2f} | "
                  f"{max(v / a for v, a in zip(r['style_each'], base['style_each'])):.2f} |")
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"video-{host_kind(info)}.json"
    out.write_text(json.dumps({"machine": info, "args": vars(a), "results": results}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

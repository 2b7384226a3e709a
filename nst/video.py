"""Paint a video (Ruder, Dosovitskiy & Brox 2016, "Artistic style transfer for videos"): frame k
starts from painted frame k-1 warped by the optical flow and adds the short-term temporal loss on
the pixels the flow tracks reliably (nst/flow.py, losses.temporal_loss). Painted alone, each
frame settles in another minimum and the strokes crawl; carried over, they stay. What the flow
cannot carry (what a pan or a moving thing reveals) is painted first on its own, box by box, as a
first frame would be, not left as the photo: left to the frame's few steps, it stayed half photo,
with a seam.

One time budget spans the clip: the first frame, painted from scratch, gets FIRST shares of it,
every later frame one (it starts from a painting already), and more where more of it is new.
With several workers (nst/scale.py) the clip is cut into chunks: their first frames (keyframes) are painted first, in order, each
from the one before, then the chunks in parallel; a chunk's last frame is held to the next
keyframe too, so no seam shows where two chunks meet.

    for f in paint_clip(clip.frames, [painting], Settings(size=256), seconds=100):
        f.image.save(f"frame_{f.index}.png")
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from . import engine, flow, images
from .budget import plan, resolve
from .settings import DEFAULT_SIZE, Limits, Settings

FIRST = 3.0  # the first frame's share of the time (or steps) against a later frame's one
LATER_STEPS = 1 / FIRST  # with --steps N: N for the first frame, N / FIRST for each later one
# What the flow cannot carry (a pan's new strip, a moving thing's wake) is painted first on its
# own, in a box around it MARGIN px wider (at least SHORTEST px a side), from the photo, like a
# first frame but at the box's cost; the frame gets FIRST times the boxes' share of the frame more
# time for it, and at least BOX_UNITS later frames' time: a small picture's step is not as much
# cheaper as its pixels are fewer, and left to its pixels' share the Video tab's example's boxes
# got ten steps and stayed speckled, 0.6x as far from the photo as the rest. A region under
# REVEALED_MIN of the pixels is left to the frame's own steps; at most BOXES regions are painted so.
REVEALED_MIN, MARGIN, SHORTEST, BOXES = 0.0025, 48, 32, 4
BOX_UNITS = 2.0
FEATHER = 0.02  # of the long side: the blend between the warped painting and the painted boxes
STROKE = 0.012  # of the long side: a blur that leaves a painting's strokes and takes its grain away


@dataclass
class VideoFrame:
    index: int  # 0-based position in the clip
    image: Image.Image  # the painted frame (while done is False: the picture so far)
    total: int  # frames in the clip
    elapsed: float  # s since the clip started
    losses: dict
    steps: int  # steps this frame took (so far)
    done: bool = True  # False: a look at a frame still being painted (paint_clip(live=True))


def frame_size(frames: Sequence[Image.Image], s: Settings, share: float | None) -> int:
    """The long side every frame is painted at: the one given, else what the first frame's share
    of the budget buys on this machine for the method the later frames run (one scale from the
    frame before, fitting their steps into it), not a still's: a still's L-BFGS after Adam is
    held near 512 px whatever the budget, where a later frame's few seconds buy a few steps."""
    if s.size is not None:
        return s.size
    if share is None:
        return DEFAULT_SIZE
    later = s if s.optimizer != "auto" else s.replace(optimizer=resolve(s.replace(pyramid=False))[2])
    return plan(later.replace(steps=None), frames[0].size, share).size


def start_of(painted_prev: Image.Image, frame: Image.Image, frame_prev: Image.Image):
    """(init, target) for a frame that follows a painted one: the warped painting where the flow
    is reliable and the frame itself where it is not, and the temporal target (warped, c)."""
    return start_from(flow.carried(painted_prev, frame, frame_prev), frame)


def start_from(carried: tuple, here: Image.Image):
    """(init, target) from flow.carried's (warped, c): the warped painting where the flow is
    reliable and `here` (the frame, or the frame with its revealed boxes painted) where it is not,
    blended over a feathered band between them; the target holds the frame as the band says."""
    warped, c = carried
    h, w = c.shape
    c = feathered(c)
    fill = np.asarray(here.resize((w, h), Image.LANCZOS), np.float32)
    init = c[..., None] * warped + (1 - c[..., None]) * fill
    return _image(init), (_image(warped), Image.fromarray(np.rint(c * 255).astype(np.uint8), "L"))


def feathered(c: np.ndarray) -> np.ndarray:
    """The reliability c falling to 0 over about 2 FEATHER of the long side before the pixels
    the flow cannot carry (twice a Gaussian blur of c less 1, never above c): the warped painting
    and what is painted anew blend in a band with no step, and the frame's steps are held less
    there. A hard edge stayed as a seam; a fall to 1/2 and then a step left a line at the edge of
    every strip a pan brought in, carried along with it."""
    import cv2

    blur = cv2.GaussianBlur(c, (0, 0), FEATHER * max(c.shape))
    return np.minimum(c, np.clip(2 * blur - 1, 0, 1))


def _image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), "RGB")


def revealed_boxes(new: np.ndarray) -> list[tuple]:
    """[(left, top, right, bottom)] around each region the flow cannot carry onto a frame (`new`:
    uncarried() of its temporal target), MARGIN px wider and at least SHORTEST a side, overlapping
    boxes merged, the largest BOXES kept. Thin motion boundaries and specks (under REVEALED_MIN of
    the frame) are left to the frame's own steps."""
    import cv2

    (h, w), (_, _, regions, _) = new.shape, cv2.connectedComponentsWithStats(new)
    boxes = [_widened(x, y, x + rw, y + rh, w, h) for x, y, rw, rh, n in regions[1:] if n >= REVEALED_MIN * h * w]
    i = 0
    while i < len(boxes):  # boxes that overlap become one
        a = boxes[i]
        hit = next((b for b in boxes[i + 1:] if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), None)
        if hit is None:
            i += 1
            continue
        boxes.remove(hit)
        boxes[i] = (min(a[0], hit[0]), min(a[1], hit[1]), max(a[2], hit[2]), max(a[3], hit[3]))
    return sorted(boxes, key=area, reverse=True)[:BOXES]


def enters(new: np.ndarray, box: tuple) -> bool:
    """Whether what the flow cannot carry in this box comes in at the frame's edge (a pan's new
    strip): held to the painting beside it, the box paints the strip as its continuation. A region
    inside the frame is what the flow lost (a moving object, what it uncovers): painted free, as a
    first frame is, since held it kept the style of the painted pixels around it and stayed near
    the photo (bench/video.py's object clip: 1.5x the first frame's style loss). `new`: uncarried()
    of the frame's temporal target."""
    left, top, right, bottom = box
    h, w = new.shape
    rims = [new[top:bottom, 0]] * (left == 0) + [new[top:bottom, w - 1]] * (right == w) + \
        [new[0, left:right]] * (top == 0) + [new[h - 1, left:right]] * (bottom == h)
    return any(r.any() for r in rims)


def uncarried(target: tuple) -> np.ndarray:
    """(H, W) uint8, 1 where the flow cannot carry the painting onto the frame, lines a pixel or
    two thin (motion boundaries, the frame's rim) left out."""
    import cv2

    new = (np.asarray(target[1]) < 128).astype(np.uint8)
    return cv2.morphologyEx(new, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def _widened(left: int, top: int, right: int, bottom: int, w: int, h: int) -> tuple:
    """A box MARGIN px wider on each side and at least SHORTEST a side, within the frame."""
    out = []
    for lo, hi, n in ((left, right, w), (top, bottom, h)):
        lo, hi = max(0, lo - MARGIN), min(n, hi + MARGIN)
        side = max(hi - lo, min(n, SHORTEST))
        lo = min(max(0, lo - (side - (hi - lo)) // 2), n - side)
        out.append((int(lo), int(lo + side)))
    (left, right), (top, bottom) = out
    return left, top, right, bottom


def held_boxes(painted: Image.Image, target: tuple, boxes: list) -> tuple:
    """A temporal target (as flow.carried's) holding the painted `boxes` of a pan's strips where
    the flow carries nothing: the frame's own steps then refine them as they refine the carried
    painting, at its step, instead of roughening them at the full step (a zooming pan's strips
    went from 0.90x the painting's grain after their box to 1.1-1.3x after the frame). Only
    strips: a box inside the frame is painted free, and held to it the band where the warped
    painting fades out was pulled two ways (the object clip's temporal error 7x)."""
    c = 255 - np.asarray(target[1], np.uint8)
    inside = np.zeros_like(c)
    for left, top, right, bottom in boxes:
        inside[top:bottom, left:right] = 1
    return painted, Image.fromarray(c * inside, "L")


def area(box: tuple) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def paint_revealed(frame: Image.Image, styles, s: Settings, targets, boxes: list, edge: list,
                   around: Image.Image, cancel=None, cap: float | None = None) -> Image.Image:
    """The frame with each revealed box painted anew, as a first frame is, but from the photo in
    the colours the carried painting gave it (in_carried_colours; from the photo's own colours a
    box's few seconds went into finding the colours, and the Video tab's example's strips stayed
    0.73x as far from the photo as the rest at stroke scale, 0.94x from these), held to the
    temporal `targets` where the flow is reliable if it comes in at the frame's edge (`edge`, per
    box: see enters()): what the new pixels start from, so they are painted as far as the rest
    (Ruder et al. 2016 paint disocclusions anew). Each box's style targets complete
    the statistics of `around` (the frame as it starts: the carried painting, the photo in the
    boxes), so the frame as a whole, not the box alone, is the painting's. A budget (s.seconds) is
    shared by the boxes by their areas; `cap` (perf_counter) as paint_run's."""
    out, whole = frame.copy(), sum(map(area, boxes))
    start = in_carried_colours(frame, targets[0]) if targets and s.init in ("content", "palette") else None
    for box, at_edge in zip(boxes, edge):
        crop = frame.crop(box)
        held = [(w.crop(box), c.crop(box)) for w, c in targets] if at_edge else []
        # the painting at the frame's scale, not the box's: its strokes as large as the rest's
        scale = min(Limits().style_scale[1], s.style_scale * max(frame.size) / max(crop.size))
        sb = s.replace(size=max(crop.size), style_scale=scale)
        if s.seconds is not None:
            sb = sb.replace(seconds=max(0.25, s.seconds * area(box) / whole))
        limit = None if cap is None else cap - time.perf_counter()
        painted = paint_one(crop, styles, sb, init=None if start is None else start.crop(box), targets=held,
                            cancel=cancel, limit=limit, surround=engine.Surround(around, box, tuple(boxes))).image
        out.paste(painted.resize(crop.size, Image.LANCZOS), box[:2])
    return out


def in_carried_colours(frame: Image.Image, target: tuple) -> Image.Image:
    """The frame in the colours the carried painting gave it: each pixel's colour mapped to the
    colour the warped painting has, on average, where the photo has that colour (an affine map
    fitted by least squares over the pixels the flow carries, `target`: (warped, reliability));
    the frame itself if the flow carries almost nothing. A revealed box starts from it.
    Fitted on the colours the carried part shows, the map extrapolates to those it does not: where
    it would take the new pixels farther from the photo, at stroke scale (at_strokes), than the
    carried painting is, the cast is scaled back to that distance, never further (a white rocket
    coming into a view of an orange suit started grey-pink, and its box's steps kept it so)."""
    carried = np.asarray(target[1]) >= 250
    if carried.mean() < 0.05:
        return frame
    photo, painted = np.asarray(frame, np.float32), np.asarray(target[0], np.float32)
    W = np.linalg.lstsq(np.c_[photo[carried], np.ones(carried.sum())], painted[carried], rcond=None)[0]
    cast = photo @ W[:3] + W[3] - photo
    new = uncarried(target).astype(bool)
    if new.any():
        far = lambda a: np.abs(at_strokes(a)).mean(-1)  # noqa: E731
        rest, ahead = far(painted - photo)[carried].mean(), far(cast)[new].mean()
        cast *= min(1.0, rest / max(ahead, 1e-6))
    return _image(photo + cast)


def at_strokes(a: np.ndarray) -> np.ndarray:
    """(H, W, C) float blurred by a Gaussian of STROKE of the long side: what is left of a
    painting's difference from its photo once its grain is taken away (its colours and strokes)."""
    import cv2

    return cv2.GaussianBlur(a, (0, 0), STROKE * max(a.shape[:2]))


def paint_frames(frame: Image.Image, styles, s: Settings, *, init=None, targets=(), started=None,
                 cancel=None, limit: float | None = None, surround=None) -> Iterator[engine.Frame]:
    """One frame's engine Frames: from scratch (init None: the pyramid as s says) or from `init`
    at one scale, with a temporal loss towards each (warped, c) of `targets`; `limit` caps it as
    stylize()'s does; `surround` (engine.Surround) for a box of a frame. The last has done=True."""
    if init is not None:
        s = s.replace(pyramid=False)
    return engine.stylize(frame, styles, s, init_image=init, temporal=list(targets) or None,
                          started=started, cancel=cancel, limit=limit, surround=surround)


def paint_one(frame: Image.Image, styles, s: Settings, **kw) -> engine.Frame:
    """One frame painted (see paint_frames); returns its final engine Frame."""
    last = None
    for last in paint_frames(frame, styles, s, **kw):
        pass
    return last


def paint_run(frames: Sequence[Image.Image], styles, s: Settings, *, first: Image.Image | None = None,
              closing: tuple | None = None, steps: int | None = None,
              cancel=None, deadline: float | None = None, later: float = 0.0, cap: float | None = None,
              live: bool = False) -> Iterator[tuple[int, engine.Frame]]:
    """Paint frames in order, each from the one before; yields (position, final engine Frame).
    `first`: frames[0] is painted already (a keyframe) and not painted again. `closing`
    (painted, its input frame): what follows the last frame (the next chunk's keyframe), which
    the last frame is held to as well. Time: with a `deadline` (perf_counter) the time left is
    shared out again before each frame, a frame from scratch weighing FIRST units, a later one 1
    and its boxes' extra, `later` units being owed to work after this run, so an overrun is
    absorbed; each frame ahead is expected to weigh what the later frames so far did (a pan's every
    frame brings in a strip: counted as one unit, the first frames took the last ones' time).
    Or `steps` (steps / FIRST for a frame that starts from the one before); neither: s as it is. `cap` (perf_counter):
    the hard limit; no frame paints past it. `cancel`: anything with is_set(). `live`: also yield
    the frames on the way (done False), to show a frame while it is painted."""
    prev, weights = first, []  # the later frames' weights so far: what each frame after is expected to weigh
    for k in range(1 if first is not None else 0, len(frames)):
        now = time.perf_counter()
        if (cancel is not None and cancel.is_set()) or (cap is not None and now >= cap):
            return
        fresh = prev is None
        init, targets = None, []
        if not fresh:
            carried = flow.carried(prev, frames[k], frames[k - 1])
            init, target = start_from(carried, frames[k])
            targets.append(target)
        if closing is not None and k == len(frames) - 1:
            targets.append(start_of(closing[0], frames[k], closing[1])[1])
        new = None if fresh else uncarried(targets[0])
        boxes = [] if fresh else revealed_boxes(new)
        edge = [enters(new, b) for b in boxes]  # a pan's strips, held to the painting beside them
        new_share = sum(map(area, boxes)) / (frames[k].size[0] * frames[k].size[1])
        extra = max(BOX_UNITS, FIRST * new_share) if boxes else 0.0  # units more for the boxes
        if steps is not None:
            sk, fill = s.replace(steps=steps if fresh else max(1, round(steps * LATER_STEPS)), seconds=None), \
                s.replace(steps=steps, seconds=None)
        elif deadline is None:
            sk = fill = s
        else:
            weight = FIRST if fresh else 1.0 + extra
            if not fresh:
                weights.append(weight)
            ahead = (len(frames) - k - 1 + later) * (sum(weights) / len(weights) if weights else 1.0)
            share = weight * (deadline - now) / (weight + ahead)
            sk = s.replace(seconds=max(0.5, share), steps=None)
            fill = s.replace(seconds=max(0.5, share * extra / weight), steps=None)
        started = time.perf_counter()
        if boxes:  # first what the flow could not carry, painted on its own, under the warp
            painted = paint_revealed(frames[k], styles, fill, targets, boxes, edge, init, cancel, cap)
            init = start_from(carried, painted)[0]  # the same flow, the painted boxes under it
            strips = [b for b, e in zip(boxes, edge) if e]
            if strips:  # a box inside the frame is not held (held_boxes): no target of zeros for every step
                targets.append(held_boxes(painted, targets[0], strips))
            if sk.seconds is not None:
                sk = sk.replace(seconds=max(0.5, sk.seconds - (time.perf_counter() - started)))
        begun = time.perf_counter()
        for out in paint_frames(frames[k], styles, sk, init=init, targets=targets, started=begun,
                                cancel=cancel, limit=None if cap is None else cap - begun):
            if out.done or live:
                yield k, out
        prev = out.image


def keyframes(n: int, workers: int) -> list[int]:
    """The first frame of each chunk: `workers` chunks of near-equal length."""
    chunks = max(1, min(workers, n))
    return [round(i * n / chunks) for i in range(chunks)]


def frame_method(s: Settings) -> Settings:
    """A clip's optimizer where `s` leaves it to auto: Adam on the pixels, in the precision auto
    takes, not a single photo's L-BFGS. A later frame's few warm-started steps and a revealed
    box's short run from the photo need every pixel moving from the first step, as Adam's do;
    L-BFGS left what a pan brought in nearer the photo (tests/test_video.py)."""
    if s.optimizer != "auto" or s.basis != "auto":
        return s
    return s.replace(optimizer="adam", basis="pixels", precision=resolve(s)[1])


def paint_clip(frames: Sequence[Image.Image], styles, settings: Settings | None = None, *,
               seconds: float | None = None, steps: int | None = None, started: float | None = None,
               cancel: threading.Event | None = None, workers: int = 1, limit: float | None = None,
               chunk_runner: Callable | None = None, live: bool = False) -> Iterator[VideoFrame]:
    """Paint a clip's frames; yields each painted frame when it is done (in order with one
    worker; with several, the keyframes first, then each chunk's frames in order). `seconds`
    budgets the whole clip from `started` (perf_counter); or `steps` for the first frame (later
    ones take steps / FIRST); neither: the engine's defaults. `limit` (seconds from `started`) is
    a hard cap: no frame paints past it. `chunk_runner(jobs, styles, s, cancel)` paints chunks in
    parallel and yields each chunk's results (nst/scale.py); without it they are painted here,
    one after another, the budget shared as for one long run. `live`: also yield a look at each
    frame painted here while it is painted (done False), a few times a second."""
    s = (settings or Settings()).replace(seconds=None)
    styles = list(styles)
    if not frames:
        raise ValueError("the clip has no frames")
    s = frame_method(s.validate(n_styles=len(styles)))
    started = time.perf_counter() if started is None else started
    cap = None if limit is None else started + limit
    n = len(frames)
    keys = keyframes(n, workers)
    spans = list(zip(keys, keys[1:] + [n]))
    parallel = chunk_runner is not None
    chunk_units = max(b - a - 1 for a, b in spans) if parallel else n - len(keys)
    unit = None
    if seconds is not None and steps is None:
        unit = (seconds - (time.perf_counter() - started)) / (FIRST + len(keys) - 1 + chunk_units)
    size = frame_size(frames, s, unit and FIRST * unit)
    fit = images.fit_size(*frames[0].size, size)
    frames = [f if f.size == fit else f.resize(fit, Image.LANCZOS) for f in frames]
    s = s.replace(size=size)
    painted: dict[int, Image.Image] = {}

    def done(k, out) -> VideoFrame:
        if out.done:
            painted[k] = out.image
        return VideoFrame(k, out.image, n, time.perf_counter() - started, out.losses, out.step, out.done)

    # the keyframes in order, each from the one before (one worker: frame 0 alone)
    deadline = None if unit is None else started + seconds
    for j, out in paint_run([frames[k] for k in keys], styles, s, steps=steps, cancel=cancel,
                            deadline=deadline, later=chunk_units, cap=cap, live=live):
        yield done(keys[j], out)
    if (cancel is not None and cancel.is_set()) or len(painted) < len(keys):
        return
    # chunks painted elsewhere (Ray) share the deadline each on its own, chunks painted here in
    # turn each owing the frames after it. perf_counter is per process: the deadline and the cap
    # travel as wall-clock times, the same on every process of a machine.
    jobs = [dict(frames=frames[a:b], first=painted[a], closing=(painted[b], frames[b]) if b < n else None,
                 steps=steps, deadline=_wall(deadline),
                 later=0 if parallel else sum(bb - aa - 1 for aa, bb in spans[j + 1:]),
                 cap=_wall(cap), live=live and not parallel)
            for j, (a, b) in enumerate(spans)]
    runner = chunk_runner or _in_turn
    for a, results in zip(keys, runner(jobs, styles, s, cancel)):
        for k, out in results:
            yield done(a + k, out)


def paint_chunk(job: dict, styles, s: Settings, cancel=None) -> Iterator[tuple[int, engine.Frame]]:
    """A chunk's frames after its (painted) keyframe; the last one held to the next keyframe.
    The job's `deadline` and `cap` are wall-clock times (time.time), read here on this process's
    perf_counter."""
    return paint_run(job["frames"], styles, s, first=job["first"], closing=job["closing"],
                     steps=job["steps"], cancel=cancel, deadline=_counter(job["deadline"]),
                     later=job.get("later", 0), cap=_counter(job.get("cap")), live=job.get("live", False))


def _wall(at: float | None) -> float | None:
    """A perf_counter time as a wall-clock one (time.time), to hand to another process."""
    return None if at is None else time.time() + (at - time.perf_counter())


def _counter(at: float | None) -> float | None:
    """A wall-clock time (time.time) on this process's perf_counter."""
    return None if at is None else time.perf_counter() + (at - time.time())


def _in_turn(jobs, styles, s, cancel):
    for job in jobs:
        yield paint_chunk(job, styles, s, cancel)

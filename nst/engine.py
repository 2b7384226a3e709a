"""The optimisation: minimise alpha L_content + beta L_style over the pixels, coarse to fine.

`stylize()` reads top to bottom in numbered stages: check the inputs, plan the run, load the
network and the images, then per level the start image, the targets made into the objective and
the descent's steps (with frames, live controls, cancel and the deadline), and the final frame.
It is a generator of Frames; closing it (or setting `cancel`) stops the work after the current
step, and its `finally` drops every tensor it made.
"""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
from PIL import Image

from . import images, masks
from .budget import LARGEST, RunPlan, Schedule, plan_run
from .checkpoint import Checkpoint, fingerprint
from .controls import Controls
from .descent import Descent
from .levels import optimizer_name
from .objective import Objective, blend_weights, layers_used, level_images
from .settings import LAYERS, Settings
from .speed import flops_per_step, sync
from .vgg import load_vgg

HELD_LR = 0.25  # of Adam's lr, where a video frame's painting is carried from the frame before


@dataclass(frozen=True)
class FrameInfo:
    """What a frame tells of its run, by name: what was planned and chosen, where it stands."""

    device: str  # 'cpu', 'cuda', ...
    precision: str  # 'fp32' | 'bf16'
    optimizer: str  # 'adam' | 'lbfgs' | 'adam+lbfgs': what the levels run, in one word
    optimizers: tuple  # per level: 'adam' | 'polish' | 'lbfgs'
    weights: str
    seed: int
    seconds: float | None  # the time budget, if any
    size: int  # long side of the final picture
    full_size: tuple  # (w, h) of the final picture: what a frame promises
    steps: int  # steps in all, as planned now (a budget re-plans them: see `budgeted`)
    budgeted: bool  # the steps fill a time budget, so `steps` and `plan` move as it runs
    stage: str  # 'painting', or 'enlarging': the picture was just enlarged to the next level's size
    plan: tuple  # ((long side, steps), ...) the levels as planned now
    taken: tuple  # ((long side, steps), ...) the levels as run so far: repeats the run exactly
    polish: int  # steps of the final L-BFGS level after Adam
    cut: bool  # a hard limit took steps away
    left: float  # seconds to the final frame, as the engine predicts it
    deadline: float | None  # seconds from the start to the final frame, if a deadline was set
    flops_per_step: float  # at full size
    peak_flops: float | None  # this machine's matmul peak in the full-size level's precision
    block: int | None  # the block side this level is evaluated by (None: the whole picture at once)
    side: int  # the long side of the level this frame is at
    flops_per_s: float | None = None  # achieved at full size
    mfu: float | None = None  # flops_per_s / peak_flops

    @property
    def levels(self) -> list[int]:
        return [side for side, _ in self.plan]


@dataclass(frozen=True)
class Surround:
    """The whole picture a crop is painted for: `picture` (its size; what will lie around the
    crop), `box` (the crop: left, top, right, bottom in it) and `free` (every box of it painted
    anew, this one among them). A crop painted so is held to the style targets that complete the
    rest's statistics, not the painting's own (Objective._complete)."""

    picture: Image.Image
    box: tuple
    free: tuple


@dataclass
class Frame:
    image: Image.Image  # RGB
    step: int  # steps done so far, over all levels
    total: int  # steps in all
    scale: int  # pyramid level, 0 = coarsest
    levels: int
    losses: dict  # 'content', 'style' (unweighted), 'total' (weighted, what is minimised)
    elapsed: float  # seconds since the run started
    done: bool = False
    info: FrameInfo | None = None
    steered: tuple = ()  # ((step, version), ...): live-control versions and the first step using each


def stylize(content: Image.Image, styles: Image.Image | Sequence[Image.Image],
            settings: Settings | None = None, *, cancel: threading.Event | None = None,
            init_image: Image.Image | None = None, mask: Image.Image | None = None,
            controls: Controls | None = None, started: float | None = None, reserve: float = 0.0,
            limit: float | None = None, max_size: int = LARGEST, full_frames: bool = False,
            temporal: list | None = None, on_checkpoint: Callable | None = None,
            checkpoint_every: float = 300.0, resume: Checkpoint | None = None,
            on_block: Callable | None = None, preview: int | None = None,
            surround: Surround | None = None) -> Iterator[Frame]:
    """Paint `content` in the style of `styles`; yields Frames, the last with done=True and the
    best image (lowest total loss at the finest level reached). `cancel`, when set, ends the run
    after the current step with that final frame; closing the generator ends it with none.
    `init_image` (e.g. an earlier result, to refine it at a larger size) replaces settings.init
    as the starting picture; the content target stays `content`. `mask` (white = inside) confines
    the style to a region (nst/masks.py, settings.mask_mode). `controls` (nst/controls.py) are
    read before every step: a change acts on the next step, with no restart.

    Time: with settings.seconds the final frame comes that many seconds after `started` (a
    time.perf_counter() value; default now), less `reserve` (what the caller needs after it); the
    size and steps not given are planned for this machine and re-planned while it runs
    (nst/budget.py). `limit` (seconds from `started`) caps any run: one that would overrun it is
    cut short, coarse levels first, and still ends at full size. `max_size` caps the planned
    size. `full_frames` shows every frame at the final size (coarse levels enlarged, a mask's
    outside the full-size photo); the final frame is never enlarged. `preview` (a long side)
    shows every frame but the final one at that size at most, all of one size: a print's live
    picture, cheap to make and to send. `temporal`, [(warped, reliability)] images of the photo's
    size, makes this a video frame (nst/video.py); `surround` a crop of one (Surround)."""
    # 1. check the inputs
    started = time.perf_counter() if started is None else started
    s = resume.to_settings() if resume is not None else settings or Settings()
    styles = _checked(content, styles, s, mask, controls)
    # 2. plan: device, arithmetic, levels; under a budget the size and steps that fill it
    p = plan_run(s, content.size, started=started, reserve=reserve, limit=limit, max_size=max_size,
                 masked=mask is not None)
    s = p.settings
    if mask is not None:
        masks.check_paintable(mask, content.size, s.size, s.style_layers)
    # 3. load the network and the images at full size
    net = load_vgg(s.weights, str(p.device), p.channels_last)
    fmt = torch.channels_last if p.channels_last else torch.contiguous_format
    autocast = (lambda: torch.autocast(p.device.type, dtype=torch.bfloat16)) if p.precision == "bf16" \
        else contextlib.nullcontext
    inputs = _Inputs(content, styles, mask, temporal, surround)
    schedule = Schedule(p.levels, p.optimizers, content.size, p.speed, p.precision, p.deadline, grow=p.budgeted,
                        blocks=p.blocks)
    checkpoints = _Checkpoints(on_checkpoint, checkpoint_every, s, schedule, resume, inputs)
    framing = _Framing(p, inputs, full_frames, started, preview)
    steering = _Steering(controls)
    gen = torch.Generator().manual_seed(s.seed)
    blend = blend_weights(s, len(styles))
    descent = objective = None
    step, level = (resume.step, resume.level) if resume is not None else (0, 0)
    try:
        for level, (side, _) in enumerate(p.levels):
            if checkpoints.before(level) or (not schedule.levels[level][1] and level < len(p.levels) - 1):
                continue  # done before the checkpoint, or re-planned away: no time for this coarse level
            # 4a. the start image: the coarser level's picture enlarged, else init_image, else s.init
            c, st = level_images(inputs.content, inputs.styles, side, s)
            x0 = start_image(s, c, st, gen, init_image, descent.best if descent else None, p.detail)
            if descent is not None:  # say so while the targets at the new size are made
                yield framing.frame(x0, descent.best_losses or descent.losses, step, level, 0, schedule,
                                    steering.steered, stage="enlarging")
            # 4b. targets: this level's photo and paintings, made into its objective
            objective = Objective(net, s, c.to(p.device), [im.to(p.device) for im in st], blend,
                                  tuple(c.shape[-2:]), autocast,
                                  fmt, block=p.blocks[level], on_block=on_block,
                                  **inputs.at_level(tuple(c.shape[-2:]), p.device))
            # 4c. the descent, carrying Adam's moments across levels if asked
            lr = step_sizes(s.lr, objective, p.basis, warm=init_image is not None)
            coarser, descent = descent, Descent(objective, x0.to(p.device), p.optimizers[level], lr, p.history,
                                                   p.basis, p.diagonal)
            if s.carry_moments and coarser is not None:
                descent.take_moments(coarser)
            done_here = checkpoints.restore(level, descent)
            # 4d. its steps, with frames, live controls, cancel, the deadline and checkpoints
            steering.new_level()
            step, stopped = yield from _steps(descent, objective, schedule, level, step, framing,
                                              steering, cancel, checkpoints, done_here)
            if stopped:
                break
            descent.finish()
        if p.speed is not None and mask is None and _plain(s, content.size):
            schedule.report()
        # 5. the final frame: the best picture seen at the last level reached, with its own losses
        yield framing.frame(descent.best, descent.best_losses or descent.losses, step, level, 0,
                            schedule, steering.steered, done=True)
    finally:
        descent = objective = None  # noqa: F841 (drop references so memory returns now)
        if p.device.type == "cuda":
            torch.cuda.empty_cache()


def step_sizes(lr: float, objective: Objective, basis: str, warm: bool) -> float | torch.Tensor:
    """Adam's step, per pixel for a video frame that starts from the painting carried from the
    frame before (`warm`), over the pixels: HELD_LR x lr where its temporal targets carry it
    (their reliability c), lr where it is new. Adam's first steps move every pixel by about lr
    whatever its gradient: a carried pixel, painted already, was pushed off and a few steps could
    not bring it back."""
    if not warm or objective.held is None or basis != "pixels":
        return lr
    return lr * (1 - (1 - HELD_LR) * objective.held)


def _steps(descent: Descent, objective: Objective, schedule: Schedule, level: int, step: int,
           framing: "_Framing", steering: "_Steering", cancel, checkpoints: "_Checkpoints",
           i: int = 0) -> Iterator[Frame]:
    """One level's steps, from its i-th: each takes the live controls first, then the deadline
    re-plans what is left. Yields a frame when one is due and at the level's end (not the last
    level's: the final frame follows). Returns (steps done over all levels, whether the run was
    stopped)."""
    s = framing.p.settings
    last_level = level == len(schedule.levels) - 1
    last_frame = time.perf_counter()
    while i < schedule.levels[level][1]:
        steering.apply(objective, descent, step)
        t = time.perf_counter()
        descent.step()
        sync(framing.p.device)
        now = time.perf_counter()
        schedule.stepped(level, now - t)
        schedule.replan(level, i + 1, now)
        step, i = step + 1, i + 1
        stopped = cancel is not None and cancel.is_set()
        checkpoints.after_step(level, i, step, descent, stopped)
        if stopped:
            return step, True
        at_end = i >= schedule.levels[level][1]
        if at_end and last_level:
            break
        due = step % s.frame_every == 0 or s.frame_seconds is not None and (
            step == 1 or now - last_frame >= s.frame_seconds)  # timed frames: the first at once
        if due or at_end:
            last_frame = now
            yield framing.frame(descent.seen, descent.losses, step, level, i, schedule, steering.steered)
    return step, False


def start_image(s: Settings, c: torch.Tensor, st: list, gen: torch.Generator,
                init_image: Image.Image | None = None, coarser: torch.Tensor | None = None,
                detail: bool = False):
    """Where a level starts: the coarser level's result upsampled (with `detail`, and a start
    from the photo, plus the photo's own detail: levels.Start), else `init_image`, else s.init:
    white noise (the paper), the content photo, the (first) style image, or the photo with the
    (first) painting's colour mean and covariance (a start nearer the answer)."""
    hw = tuple(c.shape[-2:])
    if coarser is not None:
        up = images.resize_to(coarser.cpu(), hw)
        if detail and init_image is None and s.init in ("content", "palette"):
            up = (up + images.detail(c, tuple(coarser.shape[-2:]))).clamp(0, 255)
        return up
    if init_image is not None:
        return images.resize_to(images.to_tensor(init_image), hw)
    if s.init == "noise":
        return torch.rand(1, 3, *hw, generator=gen) * 255
    if s.init == "style":
        return images.resize_to(st[0], hw)
    if s.init == "palette":
        return images.match_histogram(c, st[0])
    return c


def _checked(content, styles, s: Settings, mask, controls) -> list:
    """The one input check: the Settings, the mask against the photo, the live controls."""
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not styles:
        raise ValueError("at least one style image is needed")
    s.validate(n_styles=len(styles))
    if mask is not None:
        masks.check(mask, content.size, s.mask_mode, len(styles))
    if controls is not None:
        if not (s.content_weight > 0 and s.style_weight > 0):
            raise ValueError("live controls need content_weight > 0 and style_weight > 0: a loss "
                             "with weight 0 is never computed, so there would be nothing to steer")
        controls.bind(len(s.style_layers), len(styles))
    return styles


def _plain(s: Settings, wh) -> bool:
    """Whether this run's step times speak for the machine's model: the full network (to conv5_1)
    and not a panorama (a thin picture costs more per pixel and would skew the model)."""
    used = layers_used(s)
    return bool(used) and max(used, key=LAYERS.index) == "conv5_1" and max(wh) <= 2.5 * min(wh)


class _Checkpoints:
    """A run's checkpoints: handed to `on_checkpoint` every `every` seconds and when the run is
    stopped; and a run resumed from one (`resume`) skipping the levels done before it."""

    def __init__(self, on_checkpoint, every: float, s: Settings, schedule: Schedule, resume: Checkpoint | None,
                 inputs: "_Inputs"):
        self.fn, self.every, self.s, self.schedule, self.resume = on_checkpoint, every, s, schedule, resume
        self.last = time.perf_counter()
        self.inputs = fingerprint(inputs.content, *inputs.styles) if on_checkpoint or resume else ""
        if resume is not None:
            if resume.inputs and resume.inputs != self.inputs:
                raise ValueError("the photo or the painting is not the one this checkpoint was painted from")
            # the steps before it: the plan taken, and the rates measured
            schedule.times.update({int(j): list(t) for j, t in resume.times.items()})

    def before(self, level: int) -> bool:
        return self.resume is not None and level < self.resume.level

    def restore(self, level: int, descent: Descent) -> int:
        """At the level a run resumes at: the descent's state from the checkpoint; the steps done there."""
        if self.resume is None or level != self.resume.level:
            return 0
        descent.restore(self.resume.descent)
        return self.resume.done_here

    def after_step(self, level: int, done_here: int, step: int, descent: Descent, stopped: bool) -> None:
        now = time.perf_counter()
        if self.fn is None or not (stopped or now - self.last >= self.every):
            return
        self.last = now
        sched = self.schedule
        self.fn(Checkpoint(self.s.fixed(sched.levels), level, done_here, step,
                           {j: list(t) for j, t in sched.times.items()}, descent.state(), self.inputs))


class _Inputs:
    """The run's images as tensors at their full size, and each level's share of them."""

    def __init__(self, content, styles, mask, temporal, surround: Surround | None = None):
        self.content = images.to_tensor(content)
        self.surround = surround
        self.around = images.to_tensor(surround.picture) if surround is not None else None
        self.styles = [images.to_tensor(im) for im in styles]
        self.mask = masks.to_mask(mask) if mask is not None else None
        self.temporal = [(images.to_tensor(w), masks.to_mask(c)) for w, c in temporal or ()]

    def at_level(self, hw, device) -> dict:
        """The mask, the temporal targets and the surround at a level's size, as Objective takes
        them."""
        m = masks.resized(self.mask, hw).to(device) if self.mask is not None else None
        tl = [(images.resize_to(w, hw).to(device), masks.resized(c, hw).to(device)) for w, c in self.temporal]
        return {"mask": m, "temporal": tl, "surround": self._surround_at(hw, device)}

    def _surround_at(self, hw, device) -> tuple | None:
        """(picture, free mask) at the scale that makes the surround's box this level's size."""
        if self.surround is None:
            return None
        left, top, right, bottom = self.surround.box
        sy, sx = hw[0] / (bottom - top), hw[1] / (right - left)
        H, W = round(self.around.shape[-2] * sy), round(self.around.shape[-1] * sx)
        free = torch.zeros(1, 1, H, W)
        for l, t, r, b in self.surround.free:
            free[..., round(t * sy):round(b * sy), round(l * sx):round(r * sx)] = 1
        return images.resize_to(self.around, (H, W), antialias=True).to(device), free.to(device)


class _Steering:
    """Live controls taken up once per step: the version the objective has, and from which step
    each version acted (Frame.steered). A new level's objective starts from the Settings."""

    def __init__(self, controls: Controls | None):
        self.controls, self.applied, self.steered = controls, 0, []

    def new_level(self) -> None:
        self.applied = 0

    def apply(self, objective: Objective, descent: Descent, step: int) -> None:
        if self.controls is None:
            return
        version, values = self.controls.read()
        if version != self.applied:
            objective.steer(**values)
            descent.objective_changed()
            if not self.steered or self.steered[-1][1] != version:
                self.steered.append((step + 1, version))
            self.applied = version


class _Framing:
    """Frames as a visitor sees them: the picture (enlarged to the final size when asked, or all
    at a preview's size, a mask's outside the photo, the photo's colours put back in luminance
    mode) and what the run reports."""

    def __init__(self, p: RunPlan, inputs: _Inputs, full_frames: bool, started: float, preview: int | None = None):
        self.p, self.inputs, self.started = p, inputs, started
        s = p.settings
        w, h = inputs.content.shape[-1], inputs.content.shape[-2]
        self.full_hw = tuple(images.fit_size(w, h, s.size)[::-1])
        self.full_frames = full_frames or preview is not None
        self.frame_hw = self.full_hw if preview is None or preview >= s.size else \
            tuple(images.fit_size(w, h, preview)[::-1])
        self.flops = flops_per_step(*self.full_hw, max(layers_used(s), key=LAYERS.index))
        self._outside = None  # (photo, feathered mask) at the frames' size, made at the first enlarged frame

    def frame(self, x, losses, step, level, done_here, schedule: Schedule, steered, done=False,
              stage="painting") -> Frame:
        now = time.perf_counter()
        # a run stopped at a coarse level ends at that level's size: no enlargement passed off as the result
        image = self._show(x if done else self._at_frame_size(x))
        info = self._info(schedule, level, 0.0 if done else schedule.seconds_left(level, done_here, now), stage)
        return Frame(image, step, schedule.total, level, len(schedule.levels), dict(losses),
                     now - self.started, done=done, info=info, steered=tuple(steered))

    def _info(self, schedule: Schedule, level: int, left: float, stage: str) -> FrameInfo:
        p, s = self.p, self.p.settings
        last = len(schedule.levels) - 1
        rate = schedule.rate(level) if level == last else None
        peak = p.speed.peak(p.precision) if p.speed else None
        return FrameInfo(
            str(p.device), p.precision, optimizer_name(p.optimizers), tuple(p.optimizers), s.weights,
            s.seed, s.seconds, s.size, self.full_hw[::-1], schedule.total, p.budgeted, stage,
            tuple(schedule.planned()),
            tuple(schedule.taken()), p.levels[-1][1] if p.optimizers[-1] == "polish" else 0, schedule.cut,
            left, None if p.deadline is None else p.deadline - self.started, self.flops, peak, p.blocks[level],
            schedule.levels[level][0],
            self.flops / rate if rate else None, self.flops / rate / peak if rate and peak else None)

    def _at_frame_size(self, x: torch.Tensor) -> torch.Tensor:
        hw = self.frame_hw
        if not self.full_frames or tuple(x.shape[-2:]) == hw:
            return x
        x = images.resize_to(x.detach().float().cpu(), hw, antialias=x.shape[-2] > hw[0])
        s = self.p.settings
        if self.inputs.mask is None or s.mask_mode != "inside":
            return x
        if self._outside is None:
            photo = level_images(self.inputs.content, [], s.size, s)[0]
            photo = photo if hw == self.full_hw else images.resize_to(photo, hw, antialias=True)
            self._outside = (photo, masks.feathered(masks.resized(self.inputs.mask, hw)))
        return masks.composite(x, *self._outside)

    def _show(self, x: torch.Tensor) -> Image.Image:
        """In luminance mode the content's chroma is put back."""
        x = x.detach().float().cpu()
        if self.p.settings.colors == "luminance":
            x = images.with_chroma_of(x, images.resize_to(self.inputs.content, tuple(x.shape[-2:])))
        return images.to_pil(x)


def run(content, styles, settings: Settings | None = None, **kw) -> Frame:
    """Run to the end and return the final frame (one call, one image)."""
    frame = None
    for frame in stylize(content, styles, settings, **kw):
        pass
    return frame

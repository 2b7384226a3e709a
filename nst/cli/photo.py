"""`python -m nst CONTENT STYLE [STYLE ...] -o OUT.png`: one photo, one flag per Settings field.

Ctrl-C stops after the current step and still writes the best picture so far.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import masks, recipe
from .. import settings as S
from ..budget import check_budget, memory_budget, parse_bytes, plan, side_pixels
from ..checkpoint import Checkpoint
from ..engine import stylize
from ..speed import measured, resolve_device
from ..timelapse import TimeLapse
from ..yardstick import paper_losses
from .common import Parser, check_output, ctrl_c, exit_code, open_file, process_start


def _names(text: str) -> tuple:
    return tuple(t for t in text.replace(",", " ").split() if t)


def _numbers(text: str) -> tuple:
    try:
        return tuple(float(t) for t in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")


def _bytes(text: str) -> float:
    try:
        return parse_bytes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _levels(text: str) -> tuple:
    try:
        return tuple(tuple(int(v) for v in t.split("x")) for t in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SIDExSTEPS pairs such as 144x21,288x9, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="nst", description="Paint a photo in the style of one or more paintings "
                "(Gatys, Ecker & Bethge 2015). Flags left out come from --preset, then the defaults.")
    p.add_argument("content", help="the photo (any image PIL reads)")
    p.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    p.add_argument("-o", "--output", required=True, help="where to write the picture (.png, .jpg)")
    p.add_argument("--preset", choices=tuple(S.PRESETS),
                   help="a time budget: " + ", ".join(f"{k} {v:g} s" for k, v in S.PRESETS.items())
                   + ", from this command's start to the file written; size and steps are planned "
                   "for this machine; explicit flags override them")
    g = p.add_argument_group("settings (the paper's names in brackets)")
    g.add_argument("--seconds", type=float, help="time budget in seconds, from this command's start "
                   "to the file written: the size and steps not given are planned to fill it")
    g.add_argument("--size", type=int, help=f"long side of the output in px (default {S.DEFAULT_SIZE}, "
                   "or planned for --seconds)")
    g.add_argument("--steps", type=int, help=f"optimisation steps in all (default {S.DEFAULT_STEPS}, or "
                   "fitted into --seconds); given steps make a fixed-length run")
    g.add_argument("--levels", type=_levels, metavar="SIDExSTEPS,...", help="the exact pyramid plan, "
                   "e.g. 144x21,288x9, as a run's last line reports it, to repeat that run")
    g.add_argument("--seed", type=int, help="random seed: same seed, same picture")
    g.add_argument("--optimizer", choices=S.OPTIMIZERS, help="auto: adam coarse, lbfgs at full size")
    g.add_argument("--lr", type=float, help="Adam step size in 0..255 pixel units")
    g.add_argument("--init", choices=S.INITS, help="start image (the paper: noise)")
    g.add_argument("--pooling", choices=S.POOLINGS, help="the paper uses avg")
    g.add_argument("--alpha", type=float, dest="content_weight", help="content weight [alpha]")
    g.add_argument("--beta", type=float, dest="style_weight", help="style weight [beta]")
    g.add_argument("--ratio", type=float, help="alpha/beta (the paper: 1e-3 or 1e-4); sets alpha")
    g.add_argument("--content-layers", type=_names, help="e.g. conv4_2")
    g.add_argument("--style-layers", type=_names, help="e.g. conv1_1,conv2_1,conv3_1,conv4_1,conv5_1")
    g.add_argument("--layer-weights", type=_numbers, help="w_l per style layer (default equal)")
    g.add_argument("--style-blend", type=_numbers, help="weight per style image (default equal)")
    g.add_argument("--style-scale", type=float, help="style image size relative to the output")
    g.add_argument("--tv-weight", type=float, help="total-variation smoothing (not in the paper)")
    g.add_argument("--grain", type=float, metavar="X", help="hold the picture's grain to at most X times "
                   "the painting's own (default 1; 0: no cap, the paper's objective alone)")
    g.add_argument("--polish", type=int, metavar="N",
                   help="the last N steps: L-BFGS at full size after Adam (default 0)")
    g.add_argument("--carry-moments", action="store_const", const=True,
                   help="carry Adam's moments across pyramid levels instead of restarting them")
    g.add_argument("--basis", choices=S.BASES, help="what the steps move: the pixels (default) or a "
                   "Laplacian pyramid's coefficients, which moves the coarse structure at once")
    g.add_argument("--lbfgs-scaling", choices=S.SCALINGS, help="L-BFGS's initial inverse Hessian: the "
                   "textbook's one scalar, or each pixel's own scale from its gradient (default: "
                   "diagonal late in a long bf16 run, where it was measured ahead)")
    g.add_argument("--detail", action=argparse.BooleanOptionalAction, default=None,
                   help="a finer level starts from the coarser one's change laid onto the photo's own "
                   "detail (default: where it was measured best)")
    g.add_argument("--no-pyramid", dest="pyramid", action="store_const", const=False,
                   help="one scale instead of coarse-to-fine")
    g.add_argument("--colors", choices=S.COLORS, help="keep the photo's colours: luminance|histogram")
    g.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps")
    g.add_argument("--precision", choices=S.PRECISIONS, help="auto: bf16 where it is fast")
    g.add_argument("--max-memory", type=_bytes, metavar="SIZE", help="the memory a run may take, such as 8G "
                   "(default: $NST_MAX_MEMORY, else most of what is free); a larger picture is painted by blocks")
    g.add_argument("--weights", help="vgg19 | torchvision | hub:REPO[:FILE] | PATH "
                   "(default: $NST_WEIGHTS or vgg19)")
    m = p.add_argument_group("spatial control (Gatys et al. 2017)")
    m.add_argument("--mask", metavar="MASK.png", help="where the style goes: white (or opaque) = "
                   "inside; resized to the photo, so draw it at the photo's proportions")
    m.add_argument("--mask-mode", choices=S.MASK_MODES, help="inside: the style inside, the "
                   "photo itself outside, with a soft edge (default); split: painting 1 inside, painting 2 outside")
    o = p.add_argument_group("output")
    o.add_argument("--save-every", type=int, default=0, metavar="N",
                   help="also write OUT_stepNNNN.png every N steps")
    o.add_argument("--timelapse", metavar="OUT.webp", help="also write the run as an animated "
                   "WebP time-lapse (final picture held at the end)")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r = p.add_argument_group("repeat, resume")
    r.add_argument("--recipe", metavar="PICTURE.png", help="paint again as a PNG this program wrote says "
                   "(its settings and level plan are in the file); flags given win")
    r.add_argument("--resume", metavar="OUT.ckpt", help="go on from a checkpoint (written next to the output "
                   "on Ctrl-C and every --checkpoint-every seconds) with the same photo and paintings")
    r.add_argument("--checkpoint-every", type=float, default=300.0, metavar="SECONDS",
                   help="write OUT.ckpt this often while painting (default 300); it is removed when the run ends")
    return p


def settings_from_args(a: argparse.Namespace) -> S.Settings:
    """Settings from a recipe, the preset or the defaults, with every explicit flag on top."""
    base = recipe.read(a.recipe) if a.recipe else S.preset(a.preset) if a.preset else S.Settings()
    given = {f: getattr(a, f) for f in S.field_names() if getattr(a, f, None) is not None}
    if a.ratio is not None:
        if "content_weight" in given and "style_weight" in given:
            raise ValueError("give at most two of --alpha, --beta and --ratio")
        if not a.ratio > 0:
            raise ValueError(f"--ratio (alpha/beta) must be > 0, got {a.ratio}")
        if "content_weight" in given:
            given["style_weight"] = given["content_weight"] / a.ratio
        else:
            given["content_weight"] = a.ratio * given.get("style_weight", base.style_weight)
    if a.save_every < 0:
        raise ValueError("--save-every must be >= 0")
    # Frames at the save points, ~100 over the run for a time-lapse, else only at level ends;
    # the bar is refreshed from frame_seconds (a 512 px frame costs 4-23 ms to build: 1 a second).
    lapse_every = max(1, (given.get("steps") or 100) // 100) if a.timelapse else S.MAX_STEPS
    given.setdefault("frame_every", a.save_every or lapse_every)
    given.setdefault("frame_seconds", 1.0)
    return base.replace(**given).validate(n_styles=len(a.styles))


def _frame_path(out: Path, step: int) -> Path:
    return out.with_name(f"{out.stem}_step{step:04d}{out.suffix}")


def _paint(a, s: S.Settings, content, styles, out: Path, mask=None, resume=None) -> None:
    from tqdm import tqdm

    started = process_start()  # a budget counts this command's start
    reserve = _finishing(s, content.size, bool(a.timelapse))
    if s.seconds is not None:  # the steps get the budget less this command's start and finish
        check_budget(s, content.size, seconds=started + s.seconds - reserve - time.perf_counter())
    bar = tqdm(total=s.steps, unit="step", disable=a.quiet, dynamic_ncols=True)
    lapse = TimeLapse() if a.timelapse else None
    ckpt = out.with_suffix(".ckpt")
    post = {}  # the bar's words: the level, the block a long step is at, the time left, the losses

    def on_block(stage: int, i: int, n: int) -> None:
        post["block"] = f"{i}/{n} {'statistics' if stage == 1 else 'gradient'}"
        bar.set_postfix(post)

    with ctrl_c() as cancel:  # Ctrl-C: the engine finishes the step and yields the best picture
        try:
            for frame in stylize(content, styles, s, cancel=cancel, mask=mask, started=started, reserve=reserve,
                                 on_checkpoint=lambda c: c.save(ckpt), checkpoint_every=a.checkpoint_every,
                                 resume=resume, on_block=on_block):
                painting = frame.info.stage == "painting"  # not the moment a level is enlarged
                if lapse and painting:
                    lapse.add(frame.image, frame.step)
                bar.total = frame.total
                bar.update(frame.step - bar.n)
                post.pop("block", None)
                post.update(level=f"{frame.scale + 1}/{frame.levels} {frame.info.side}px",
                            left=f"{frame.info.left:.0f}s", content=f"{frame.losses['content']:.3g}",
                            style=f"{frame.losses['style']:.3g}")
                bar.set_postfix(post, refresh=False)
                if a.save_every and painting and not frame.done and frame.step % a.save_every == 0:
                    frame.image.save(_frame_path(out, frame.step))
        finally:
            bar.close()
    recipe.save(frame.image, out, recipe.of_frame(frame, s))
    if lapse:
        lapse.write(a.timelapse)
    if not cancel.is_set():
        ckpt.unlink(missing_ok=True)  # done: nothing to go on from
    said = _closing_line(frame, out, content, styles, s, started, cancel.is_set(), a.timelapse)
    if cancel.is_set() and ckpt.exists():
        said += f"; go on with: --resume {ckpt}"
    print(said, file=sys.stderr)


CLOSING_SIDE = 256  # px: the closing line's style losses are measured on copies at most this
# large; at 512 px the line took 4 s of a 15 s budget on an AVX2 CPU, a quarter of the painting


def _closing_line(frame, out: Path, content, styles, s: S.Settings, started: float, stopped: bool,
                  lapse: str | None) -> str:
    """What was written, how long it took from the command's start, how far the style loss fell
    against the photo's own (both judged on copies at most CLOSING_SIDE px, the style alone: cheap
    whatever the size painted), and the flags that repeat the run."""
    small = frame.image.copy()
    small.thumbnail((CLOSING_SIDE, CLOSING_SIDE))
    judged = s.replace(content_weight=0.0)  # the style alone: no content targets to make
    photo, ours = (d["style"] for d in paper_losses([content.resize(small.size), small], content, styles, judged))
    i = frame.info
    return (f"wrote {out} ({frame.image.width}x{frame.image.height}, {frame.step} steps in "
            f"{time.perf_counter() - started:.1f} s from start on {i.device} {i.precision} "
            f"{i.optimizer}){' (stopped early)' if stopped else ''}; style loss "
            f"{ours / max(photo, 1e-30):.3f}x the photo's" + (f"; time-lapse {lapse}" if lapse else "")
            + f"; repeat it with: {repeat_flags(frame)}")


def repeat_flags(frame) -> str:
    """The flags that paint this run again, pixel for pixel on the same device: the level plan it
    really took (size and steps) and the arithmetic it chose, with its seed."""
    i = frame.info
    return f"--levels {','.join(f'{sz}x{n}' for sz, n in i.taken)} --precision {i.precision} --seed {i.seed}"


def _finishing(s: S.Settings, wh, lapse: bool) -> float:
    """Seconds this command needs after the last frame, so a budget is kept to the file written:
    the closing line's style losses (the painting's targets and two fp32 forward passes at
    CLOSING_SIDE at most, about a step and a half there, from the machine's model), the PNG (its encoding timed here on a small
    picture, then scaled by the pixels) and the time-lapse. Only budgets need it."""
    if s.seconds is None:
        return 0.0
    sp = measured(s.device, s.weights)
    side = s.size or plan(s, wh, s.seconds, sp, memory=memory_budget(s, resolve_device(s.device))).size
    step = sp.step("fp32", "adam", side_pixels(wh, min(side, CLOSING_SIDE)))
    return 0.2 + 1.4 * step + _png_seconds(side_pixels(wh, side)) + (1.0 if lapse else 0.0)


def _png_seconds(pixels: int) -> float:
    """How long writing a PNG of this many pixels takes here: one of 256 x 256 px timed, scaled."""
    import io

    import numpy as np
    from PIL import Image

    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    t = time.perf_counter()
    noise.save(io.BytesIO(), format="PNG")
    return (time.perf_counter() - t) * pixels / 256**2


def _one_photo(a) -> None:
    resume = Checkpoint.load(a.resume) if a.resume else None
    s = resume.to_settings().validate(n_styles=len(a.styles)) if resume else settings_from_args(a)
    out = Path(a.output)
    check_output(out)
    if a.timelapse:
        check_output(Path(a.timelapse), (".webp",), "a .webp file for the time-lapse")
    content, *styles = [open_file(p) for p in [a.content, *a.styles]]
    mask = masks.open_mask(a.mask) if a.mask else None
    if mask is not None:
        masks.check(mask, content.size, s.mask_mode, len(styles))
    _paint(a, s, content, styles, out, mask, resume)


def main(argv: list[str]) -> int:
    a = build_parser().parse_args(argv)
    return exit_code(lambda: _one_photo(a))

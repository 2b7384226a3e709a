"""Print size: the painted picture enlarged 2x, 4x ... up to this server's print cap, painted again
from itself at each size up, by the paper's objective (by blocks where a size does not fit this
machine's memory at once), under a budget the page states. A preview of the whole streams while
it paints, Stop ends it with the best picture so far, and the download is the full-size PNG."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import gradio as gr
from PIL import Image

from .. import recipe
from ..budget import GRID, memory_budget, plan_print
from ..engine import stylize
from ..levels import plan_levels
from ..settings import Settings
from ..speed import resolve_device
from . import files, limits, progress, refusals, runs
from .contract import API_PARAMS, inputs

PRINT_MAX = int(os.environ.get("NST_PRINT_MAX", 8192 if limits.GPU else 4096))  # px, long side
PRINT_SECONDS = float(os.environ.get("NST_PRINT_SECONDS", limits.MAX_SECONDS))
PRINT_LIMITS = dataclasses.replace(limits.LIMITS, max_size=PRINT_MAX, max_seconds=PRINT_SECONDS)
FACTORS = (2, 3, 4, 6, 8)
PREVIEW = 1024  # px: the live picture's long side while a print paints
RESERVE = 0.3  # of the budget kept for the PNG and a speed model off by a little
ZEROGPU_STEPS = 12  # steps a level on ZeroGPU, where the GPU a call gets cannot be measured first
OUTPUTS = ("live", "status", "details", "losses", "print_download")


# ---------------------------------------------------------------------------- what this machine holds
def _side(wh, factor: int) -> int:
    return int(max(wh) * factor) // GRID * GRID


def _levels(s: Settings, wh, side: int) -> list[tuple[int, int]]:
    """The print's level plan under PRINT_SECONDS on this machine (ValueError: it does not fit).
    On ZeroGPU this process cannot measure the GPU the call gets: ZEROGPU_STEPS a level."""
    if limits.ON_ZEROGPU:
        n = len(plan_levels(side, 1, True, coarsest=max(wh) + 1))
        return plan_levels(side, ZEROGPU_STEPS * n, True, coarsest=max(wh) + 1)
    memory = memory_budget(s, resolve_device(limits.DEVICE))
    return plan_print(s, wh, max(wh), side, (1 - RESERVE) * PRINT_SECONDS, limits.speed(), memory)


def offered(wh, s: Settings | None = None) -> list[tuple[int, int]]:
    """[(factor, long side)] of the prints this machine paints from a picture of size wh within
    PRINT_SECONDS and PRINT_MAX."""
    s = s or Settings()
    out = []
    for f in FACTORS:
        side = _side(wh, f)
        if side > PRINT_MAX:
            break
        try:
            _levels(s, wh, side)
        except ValueError:
            break
        out.append((f, side))
    return out


def _capped(wh, n_offered: int) -> bool:
    """Whether the next size up is refused by the server's cap rather than by the time."""
    return n_offered < len(FACTORS) and _side(wh, FACTORS[n_offered]) > PRINT_MAX


def _result_size(result) -> tuple[int, int] | None:
    if not result or not Path(str(result)).is_file():
        return None
    with Image.open(result) as im:
        return im.size


def choices(result):
    """After a run: the Print size choices for its picture, the button, and the sentence that says
    what this machine holds."""
    wh = _result_size(result)
    device = "GPU" if limits.GPU else "CPU"
    if wh is None:
        return (gr.update(choices=[], value=None), gr.update(interactive=False),
                gr.update(value=f"Paint a picture first. This {device} paints prints of up to "
                                f"{PRINT_MAX} px within {PRINT_SECONDS:.0f} s."))
    sizes = offered(wh)
    labels = [(f"{f}× · {side} px", f) for f, side in sizes]
    if not sizes:
        said = (f"This {device} cannot paint a print of this picture within {PRINT_SECONDS:.0f} s: even "
                f"{_side(wh, 2)} px would take longer.")
    else:
        said = (f"Painted again from the picture above, a few steps at each size up, by blocks where a "
                f"size does not fit in memory at once. Within {PRINT_SECONDS:.0f} s this {device} paints "
                f"up to {sizes[-1][1]} px from it" + (f" (the server's cap is {PRINT_MAX} px)." if
                                                      _capped(wh, len(sizes)) else "."))
    return (gr.update(choices=labels, value=labels[0][1] if labels else None),
            gr.update(interactive=bool(sizes), value=f"Paint for print · {PRINT_SECONDS:.0f} s"),
            gr.update(value=said))


# ---------------------------------------------------------------------------- the run
def print_seconds(*args, **kwargs) -> int:
    """What a ZeroGPU print asks for: its budget plus start-up."""
    return int(PRINT_SECONDS + limits.START_UP)


def _frames(content, styles, settings, cancel, init_image, mask, started):
    yield from stylize(content, styles, settings, cancel=cancel, init_image=init_image, mask=mask,
                       started=started, limit=PRINT_SECONDS, max_size=PRINT_MAX, preview=PREVIEW)


_frames = runs.on_device(_frames, print_seconds)


def _checked(result, factor, values):
    """(photo, paintings, Settings, result, mask) of the print asked for, or ValueError (a sentence)."""
    if not result or not Path(str(result)).is_file():
        raise ValueError("paint a picture first; Print size enlarges it")
    try:
        factor = int(factor)
    except (TypeError, ValueError):
        raise ValueError("choose a print size") from None
    if factor not in FACTORS:
        raise ValueError(f"a print is {', '.join(f'{f}×' for f in FACTORS[:-1])} or {FACTORS[-1]}× the picture")
    prev = refusals.picture("the result", result, max_side=PRINT_MAX)
    side = _side(prev.size, factor)
    if side > PRINT_MAX:
        raise ValueError(f"a print of {factor}× ({side} px) is past this server's {PRINT_MAX} px cap")
    photo, styles, s, _, mask = inputs({**dict(zip(API_PARAMS, values)), "size": 0, "steps": 0},
                                       max_side=PRINT_MAX)
    levels = _levels(s, prev.size, side)
    s = s.replace(levels=tuple(levels), size=side, steps=sum(n for _, n in levels), seconds=None)
    s.validate(n_styles=len(styles), limits=PRINT_LIMITS)
    return photo, styles, s, prev, mask


def enlarge(request: gr.Request, result, factor, *values):
    """Paint the result at the chosen print size, streaming a preview; the full-size PNG at the end."""
    started = time.perf_counter()
    try:
        photo, styles, s, prev, mask = _checked(result, factor, values)
    except ValueError as e:
        yield gr.skip(), "**Not printed.** " + refusals.sentence(e), "", gr.skip(), gr.skip()
        raise refusals.refuse(e, "Not printed") from None
    clock, curve, png = progress.Clock(), progress.LossCurve(), None
    with runs.RUNS.run(runs.session_of(request)) as cancel, files.Shown() as show:
        if cancel.is_set():  # Stop was pressed while it waited
            yield tuple(gr.skip() for _ in OUTPUTS)
            return
        try:
            for f in _frames(photo, styles, s, None if limits.ON_ZEROGPU else cancel, prev, mask, started):
                if f.info.stage == "painting":
                    curve.add(f)
                if not f.done:
                    yield show(f.image), *progress.status(f, clock), curve.chart(f.total), gr.skip()
                    continue
                ending = "Stopped: the best picture so far, at its size" if cancel.is_set() else \
                    f"Printed, with fewer steps than planned to end within {PRINT_SECONDS:.0f} s" \
                    if f.info.cut else "Printed"
                png = files.save_png(f.image, f"print-{f.image.width}x{f.image.height}", recipe.of_frame(f, s))
                shown = f.image.copy()
                shown.thumbnail((PREVIEW, PREVIEW), Image.LANCZOS)
                said = f"The print · a {shown.width} px preview; the download is the full size"
                yield (gr.update(value=show(shown), label=said), *progress.status(f, clock, "", ending), curve.chart(f.total),
                       gr.update(value=png, visible=True,
                                 label=f"Download the print ({f.image.width}×{f.image.height} PNG)"))
                break
        except (ValueError, FloatingPointError, RuntimeError) as e:
            err = refusals.failure(e)
            yield gr.skip(), f"**{err.title}.** {err.message}", *[gr.skip()] * (len(OUTPUTS) - 2)
            raise err from None
        finally:
            if png:
                Path(png).unlink(missing_ok=True)  # Gradio has copied it into its cache by now


# ---------------------------------------------------------------------------- the page
def build(ui: dict) -> None:
    """The Print size box under the results (call inside the results column)."""
    with gr.Accordion("Print size", open=False, elem_id="print_box"):
        ui["print_note"] = gr.Markdown("", elem_classes="caption", elem_id="print_note")
        with gr.Row():
            ui["print_factor"] = gr.Radio([], label="Enlarge the picture", elem_id="print_factor", min_width=200)
            ui["print"] = gr.Button(f"Paint for print · {PRINT_SECONDS:.0f} s", interactive=False, size="md",
                                    elem_id="print", min_width=160)
        ui["print_download"] = gr.DownloadButton("Download the print", visible=False, size="md",
                                                 elem_id="print_download")


def wire(ui: dict, api_inputs: list, painting: dict, page: dict, arm) -> None:
    """The choices follow the result; Print streams into the live picture; Stop reaches it like a
    run (the session's cancel Events)."""
    ui["download"].change(choices, ui["download"], [ui["print_factor"], ui["print"], ui["print_note"]],
                          queue=False, **page)
    show = ui["print"].click(lambda: (gr.update(visible=True, label="Print in progress · a preview of the whole"),
                                      gr.update(visible=False),
                                      "**Printing** · starting…", "", None, gr.update(visible=False)),
                             None, [ui["live"], ui["compare"], ui["status"], ui["details"], ui["losses"],
                                    ui["print_download"]], queue=False, **page)
    show.then(arm, None, None, queue=False, **page).success(
        enlarge, [ui["download"], ui["print_factor"], *api_inputs], **page,
        **{**painting, "outputs": [ui[k] for k in OUTPUTS]})

"""Streaming one run to the page: the live picture, status, loss chart and the results at the end."""
from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
from PIL import Image

from .. import recipe
from ..settings import Settings
from ..timelapse import TimeLapse
from . import files, limits, progress, refusals, runs

OUTPUTS = ("live", "status", "details", "losses", "compare", "download", "refine", "lapse", "lapse_file")
LAPSE_SIDE = 384  # px, the time-lapse's long side


def paint_run(content, styles, settings: Settings, request, note: str = "", init_image=None, mask=None,
              started: float | None = None, refined: bool = False):
    """Stream a run to the page: (live image, status, details, loss chart, before/after, PNG,
    Refine button, time-lapse, time-lapse file). A budget counts from `started` (perf_counter,
    when the request arrived) to the last update, the PNG and time-lapse included. `refined`: the
    run refines an earlier result, and its time-lapse says so."""
    started = time.perf_counter() if started is None else started
    clock, curve, png, lapse_file = progress.Clock(), progress.LossCurve(), None, None
    lapse = TimeLapse(long_side=LAPSE_SIDE)
    session = runs.session_of(request)
    with runs.RUNS.run(session) as cancel, runs.STEERINGS.run(session, settings, len(styles)) as steering, \
            files.Shown() as show:
        if cancel.is_set():  # Stop was pressed while this run waited: the page keeps what it shows
            yield tuple(gr.skip() for _ in OUTPUTS)
            return
        try:
            frames = runs.frames(content, styles, settings, None if limits.ON_ZEROGPU else cancel, init_image,
                                mask, None if limits.ON_ZEROGPU else steering.controls, started,
                                limits.FINISH.seconds)
            ending, shown = "Done", False
            for f in frames:
                painting = f.info.stage == "painting"  # not the moment a level is enlarged
                if painting:
                    lapse.add(f.image, f.step)
                changes = steering.changes(f.steered)
                curve.steered(changes)
                said = "  \n".join(x for x in (note, changes and f"{changes[-1][1]} from step {changes[-1][0]}") if x)
                if limits.ON_ZEROGPU and cancel.is_set() and not f.done:  # no shared Event across processes
                    frames.close()
                    f.done = True
                if painting:
                    curve.add(f)
                if not f.done:
                    # not on the first frame: a page's first chart loads the plotting code, whose
                    # requests would queue before the picture's and delay it by a few tenths
                    chart = curve.chart(f.total) if shown else gr.skip()
                    shown = True
                    yield (show(f.image), *progress.status(f, clock, said), chart,
                           gr.skip(), gr.skip(), gr.update(interactive=False), gr.skip(), gr.skip())
                    continue
                if cancel.is_set():  # ZeroGPU's run cannot be asked for its best: it shows the latest
                    ending = f"Stopped: the picture at step {f.step}" if limits.ON_ZEROGPU else \
                        "Stopped: the best picture so far"
                elif f.info.cut:  # the engine cut it to end, at full size, by the cap
                    ending = f"Cut short to end by the {limits.MAX_SECONDS:.0f} s limit"
                finishing = time.perf_counter()
                png = files.save_png(f.image, how=recipe.of_frame(f, settings))
                lapse_file = files.save_timelapse(lapse)
                live, before = show.many([f.image, content.resize(f.image.size, Image.LANCZOS)])
                kb = Path(lapse_file).stat().st_size // 1024
                which = "the refinement's time-lapse" if refined else "time-lapse"
                yield (live, *progress.status(f, clock, said, ending), curve.chart(f.total),
                       gr.update(value=(before, live), visible=True),
                       gr.update(value=png, visible=True, label=f"Download PNG ({f.image.width}×{f.image.height})"),
                       gr.update(interactive=limits.refine_side(f.image.size) > max(f.image.size),
                                 value=limits.refine_label(f.image.size, settings.seconds or 0)),
                       gr.update(value=lapse_file, visible=True,
                                 label="Time-lapse of the refinement" if refined else "Time-lapse of this run"),
                       gr.update(value=lapse_file, visible=True, label=f"Download {which} ({kb} KB WebP)"))
                limits.FINISH.measured(time.perf_counter() - finishing)
                break
        except (ValueError, FloatingPointError, RuntimeError) as e:
            err = refusals.failure(e)  # shown twice: a toast, and the status line where the eyes are
            yield (gr.skip(), f"**{err.title}.** {err.message}", *[gr.skip()] * (len(OUTPUTS) - 2))
            raise err from None
        finally:
            for done_with in (png, lapse_file):  # Gradio has copied them into its cache by now
                if done_with:
                    Path(done_with).unlink(missing_ok=True)

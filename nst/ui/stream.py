"""Streaming one run to the page: the live picture, status, loss chart and the results at the end."""
from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
from PIL import Image

from ..settings import Settings
from ..timelapse import TimeLapse
from . import files, limits, progress, refusals, runs

OUTPUTS = ("live", "status", "details", "losses", "compare", "download", "refine", "lapse", "lapse_file")
LAPSE_SIDE = 384  # px, the time-lapse's long side


def paint_run(content, styles, settings: Settings, request, note: str = "", init_image=None, mask=None,
              started: float | None = None):
    """Stream a run to the page: (live image, status, details, loss chart, before/after, PNG,
    Refine button, time-lapse, time-lapse file). A budget counts from `started` (perf_counter,
    when the request arrived) to the last update, the PNG and time-lapse included."""
    started = time.perf_counter() if started is None else started
    clock, curve, png, lapse_file = progress.Clock(), progress.LossCurve(), None, None
    lapse = TimeLapse(long_side=LAPSE_SIDE)
    session = runs.session_of(request)
    with runs.RUNS.run(session) as cancel, runs.STEERINGS.run(session, settings, len(styles)) as steering:
        if cancel.is_set():  # Stop was pressed while this run waited: the page keeps what it shows
            yield tuple(gr.skip() for _ in OUTPUTS)
            return
        try:
            frames = runs.frames(content, styles, settings, None if limits.ON_ZEROGPU else cancel, init_image,
                                mask, None if limits.ON_ZEROGPU else steering.controls, started,
                                limits.FINISH.seconds)
            ending, shown = "Done", False
            for f in frames:
                lapse.add(f.image, f.step)
                changes = steering.changes(f.steered)
                curve.steered(changes)
                said = "  \n".join(x for x in (note, changes and f"{changes[-1][1]} from step {changes[-1][0]}") if x)
                if limits.ON_ZEROGPU and cancel.is_set() and not f.done:  # no shared Event across processes
                    frames.close()
                    f.done = True
                curve.add(f)
                if not f.done:
                    # not on the first frame: a page's first chart loads the plotting code, whose
                    # requests would queue before the picture's and delay it by a few tenths
                    chart = curve.chart(f.total) if shown else gr.skip()
                    shown = True
                    yield (f.image, *progress.status(f, clock, said), chart,
                           gr.skip(), gr.skip(), gr.update(interactive=False), gr.skip(), gr.skip())
                    continue
                if cancel.is_set():  # ZeroGPU's run cannot be asked for its best: it shows the latest
                    ending = f"Stopped: the picture at step {f.step}" if limits.ON_ZEROGPU else \
                        "Stopped: the best picture so far"
                elif f.info.cut:  # the engine cut it to end, at full size, by the cap
                    ending = f"Cut short to end by the {limits.MAX_SECONDS:.0f} s limit"
                finishing = time.perf_counter()
                png, lapse_file = files.save_png(f.image), files.save_timelapse(lapse)
                ref = content.resize(f.image.size, Image.LANCZOS)
                lim = limits.LIMITS.max_size
                kb = Path(lapse_file).stat().st_size // 1024
                yield (f.image, *progress.status(f, clock, said, ending), curve.chart(f.total),
                       gr.update(value=(ref, f.image), visible=True),
                       gr.update(value=png, visible=True, label=f"Download PNG ({f.image.width}×{f.image.height})"),
                       gr.update(interactive=f.image.width < lim and f.image.height < lim),
                       gr.update(value=lapse_file, visible=True),
                       gr.update(value=lapse_file, visible=True, label=f"Download time-lapse ({kb} KB WebP)"))
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

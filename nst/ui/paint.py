"""The Paint tab's layout and page handlers: a photo, a painting, Paint, and the picture streaming in."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

import gradio as gr
from gradio.context import Context
from PIL import Image

from .. import masks
from ..settings import COLORS, INITS, LAYERS, OPTIMIZERS, POOLINGS, PRECISIONS, STYLE_LAYERS, Settings
from . import files, limits, printing, refusals, runs
from .contract import API_DEFAULTS, API_PARAMS, PRESETS, _describe, _number, inputs, stylize
from .examples import PHOTOS, SAMPLE_PAINTING, SAMPLE_PHOTO, STYLES, picker, thumbs
from .image_input import image_input
from .stream import OUTPUTS, paint_run

# Plain words first; the paper's term and the range in the info text.
LAYER_WORDS = {"conv1_1": "Fine grain", "conv2_1": "Small strokes", "conv3_1": "Brush strokes",
               "conv4_1": "Larger motifs", "conv5_1": "Big shapes"}


# ---------------------------------------------------------------------------- page handlers
LIVE_LABEL = "Painting in progress"  # a print's preview has its own (printing.py)


def _show_live():
    """The moment Paint or Refine is pressed: the live picture takes the before/after view's place."""
    return gr.update(visible=True, label=LIVE_LABEL), gr.update(visible=False)


def _arm(request: gr.Request):
    """In the same chain as the run it precedes (so a click Gradio ignores arms nothing): the
    run's cancel Event, so Stop works while the run waits for its turn."""
    runs.RUNS.arm(request.session_hash)


def _ready(where: str, editor, values) -> tuple[str | None, str]:
    """Paint's check, as /stylize will check the same values: ValueError with its sentence, or
    the mask file (the brush strokes; None for the whole picture) and mask mode the run takes."""
    mask = None
    if where != "whole":
        mask = masks.brushed((editor or {}).get("layers"))
        if mask is None:
            raise ValueError("brush over the photo (under 'Paint only where you choose') to mark where "
                             "the painting goes, or choose 'The whole picture'")
    # the rest as /stylize checks it; the new mask against the photo below
    content, styles, *_ = inputs({**dict(zip(API_PARAMS, values)), "mask": None, "mask_mode": "inside"},
                                 max_side=256)
    if mask is None:
        return None, "inside"
    masks.check(mask, content.size, where, len(styles))
    return str(files.save_png(mask)), where  # a one-channel PNG: white = inside


def _start(request: gr.Request, where: str, editor, *values):
    """Paint pressed, in one round trip before the run (the first frame waits for it): check it,
    turn the brush into the mask, show the live picture, arm Stop. Queued, but never waiting for
    a run: a refusal is then said on the page, in the status line and as a toast, and is no
    server error (outside the queue Gradio answers an error with HTTP 500)."""
    try:
        mask, mode = _ready(where, editor, values)
    except ValueError as e:
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), "**Not painted.** " + refusals.sentence(e), "", gr.skip()
        raise refusals.refuse(e, "Not painted") from None
    _arm(request)
    yield (*_show_live(), mask, mode, "**Waiting for the machine…**", "", None)


def _stop(request: gr.Request):
    runs.RUNS.stop(request.session_hash)


def _steer(request: gr.Request, ratio_exp, *weights):
    """A slider moved: the session's running picture takes it at its next step (like Stop, outside
    the queue). With no run going the slider is simply the next run's setting. `weights`: the five
    layer weights, the three blend weights, then paintings 2 and 3 (a blend weight counts only
    for a painting that is there, as in inputs())."""
    steering = runs.STEERINGS.get(request.session_hash)
    if steering is None:
        return
    if limits.ON_ZEROGPU:  # the run is in another process: nothing here can reach it
        gr.Warning("Live steering is not available on this Space; the new value applies to the next run.")
        return
    n = len(STYLE_LAYERS)
    blend, (style_2, style_3) = weights[n:n + 3], weights[n + 3:]
    present = (True, style_2 not in (None, ""), style_3 not in (None, ""))
    try:
        steering.move(10.0 ** _number("ratio_exp", ratio_exp), tuple(map(float, weights[:n])),
                      tuple(float(b) for b, there in zip(blend, present) if there))
    except ValueError as e:  # an Error, not a Warning: outside the queue a Warning never reaches the page
        raise gr.Error(f"Not applied: {refusals.sentence(e)}", title="Slider", print_exception=False) from None


def _to_editor(path):
    """The photo becomes the brush's canvas (strokes drawn over another photo would not fit it)."""
    try:
        img = refusals.picture("the photo", path, max_side=768)
    except ValueError:
        return None  # its own note under the box says why
    if img is None:
        return None
    # a file of its own, as files.Shown explains: visitors opening the same example at once
    return {"background": files.save_png(img, "canvas"), "layers": [], "composite": None}


def _note(path):
    """An upload is checked when it lands: a refused file leaves the box (no broken picture) and
    is named once, under it. An emptied box keeps the note, which says why it is empty."""
    if path in (None, ""):
        return gr.skip(), gr.skip()
    text = refusals.upload_note(path)
    return (None if text else gr.skip()), gr.update(value=text, visible=bool(text))


def refine(request: gr.Request, result: str | None, *values):
    """Continue from the current result at a larger size (limits.refine_side; page only, not part
    of the API). The result is the starting image and the photo stays the content target (one
    scale): the picture is kept and the optimiser adds detail at the new resolution."""
    started = time.perf_counter()
    try:
        if not result or not Path(str(result)).is_file():
            raise ValueError("paint a picture first; Refine continues from it")
        params = dict(zip(API_PARAMS, values))
        prev = refusals.picture("the result", result)
        # the preset's budget (or the one given) at the new size: the steps are what fits in it
        photo, styles, s, _, mask = inputs({**params, "size": limits.refine_side(prev.size), "steps": 0,
                                            "pyramid": False})
    except ValueError as e:
        raise refusals.refuse(e) from None
    yield from paint_run(photo, styles, s, request, init_image=prev, mask=mask, started=started, refined=True)


def _start_refine(result, lapse_file):
    """The moment Refine is pressed: the picture it starts from stays in view, the status says
    what is happening, and the first run's time-lapse keeps its own download button."""
    size = Image.open(result).size if result and Path(str(result)).is_file() else None
    said = (f"**Refining** {size[0]}×{size[1]} px → {limits.refine_side(size)} px · starting…" if size
            else "**Refining** · starting…")
    first = gr.update(value=lapse_file, visible=True) if lapse_file else gr.skip()
    # the chart is this run's from its start: the last run's, left up, read as a jump at its first update
    return gr.update(visible=True, value=result, label=LIVE_LABEL), gr.update(visible=False), said, "", first, None


def _refine_label(result, preset, seconds):
    """Refine's button names its size and its time (the preset's, or the seconds given)."""
    if not result or not Path(str(result)).is_file():
        return gr.skip()
    size = Image.open(result).size
    budget = _number("seconds", seconds) or PRESETS.get(preset, 0)
    return gr.update(value=limits.refine_label(size, budget))


# ---------------------------------------------------------------------------- layout
def _preset_choices(photo=None, optimizer="auto", precision="auto", pyramid=True):
    """'Quick · 15 s · 384 px here': the promise, and what this machine's speed makes of it for
    the photo in the box (a 3:2 one before there is one), with the settings that change the plan.
    A run of the preset paints at exactly that size (contract.inputs asks the same plan)."""
    wh = limits.REFERENCE_PHOTO
    with contextlib.suppress(ValueError):
        wh = refusals.picture("the photo", photo, max_side=limits.WORK_SIDE).size if photo else wh
    s = Settings(optimizer=optimizer if optimizer in OPTIMIZERS else "auto",
                 precision=precision if precision in PRECISIONS else "auto", pyramid=bool(pyramid))
    return [(f"{name.capitalize()} · {t:g} s · {limits.planned(name, wh, s).size} px here", name)
            for name, t in PRESETS.items()]


def _preset_labels(photo, optimizer, precision, pyramid):
    """The preset buttons' labels again: the photo, the settings or the machine's speed changed."""
    return gr.update(choices=_preset_choices(photo, optimizer, precision, pyramid))


def _picture_box(label, elem_id, sources, height, example=None):
    box = image_input(example, label=label, height=height, min_width=120, sources=sources, elem_id=elem_id)
    note = gr.Markdown("", visible=False, elem_classes="refusal", elem_id=f"{elem_id}-note")
    box.change(_note, box, [box, note], api_visibility="private", concurrency_limit=None,
               show_progress="hidden")
    return box, note


def build():
    """The Paint tab's widgets (call inside `with gr.Tab(...)`); returns the photo and painting
    boxes (the Explore tab can copy from them)."""
    ui = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300):
            _choices(ui)
        with gr.Column(scale=6, min_width=300):
            _results(ui)
    _describe(ui)
    _wire_paint(ui)
    _wire_controls(ui)
    return ui["content"], ui["style"]


def _choices(ui: dict) -> None:
    """The left column: the photo, the painting, the preset, Paint and Stop, the brush, more
    paintings and the advanced settings."""
    with gr.Row():
        with gr.Column(min_width=120):
            ui["content"], _ = _picture_box("Photo", "content", ["upload", "webcam", "clipboard"], 220,
                                            SAMPLE_PHOTO)
            ui["content_thumbs"] = thumbs(PHOTOS, "Example photos")
        with gr.Column(min_width=120):
            ui["style"], _ = _picture_box("Painting", "style", ["upload", "clipboard"], 220, SAMPLE_PAINTING)
            ui["style_thumbs"] = thumbs(STYLES, "Example paintings")
    ui["preset"] = gr.Radio(_preset_choices(SAMPLE_PHOTO), value="quick", label="Preset", elem_id="preset",
                            info=f"time from Paint to the final picture; the size is what this "
                                 f"{'GPU' if limits.GPU else 'CPU'} paints this photo at in that "
                                 f"time. No run goes past {limits.MAX_SECONDS:.0f} s.")
    with gr.Column(elem_id="steer"):  # on a phone, a bar held in view while it paints (app.PHONE_CSS)
        with gr.Row():
            ui["paint"] = gr.Button("Paint", variant="primary", elem_id="paint")
            ui["stop"] = gr.Button("Stop", variant="stop", elem_id="stop")
        ui["ratio_exp"] = gr.Slider(
            -8, 2, API_DEFAULTS["ratio_exp"], step=0.5, label="Photo against painting", elem_id="ratio",
            info="lower = more painting; move it while it paints to steer the picture. The paper's "
                 "log₁₀(α/β), content vs style weight; it used -3 or -4.")
    if limits.ON_ZEROGPU:
        gr.Markdown("Live steering is not available on this Space: ZeroGPU paints in another "
                    "process, so the sliders apply to the next run.", elem_classes="caption")
    with gr.Accordion("Paint only where you choose", open=False, elem_id="mask_box"):
        ui["where"] = gr.Radio([("The whole picture", "whole"), ("The painting only where I brush", "inside"),
                                ("Painting 1 where I brush, painting 2 elsewhere", "split")], value="whole",
                               label="Where the painting goes", elem_id="where",
                               info="painting 2 goes under 'Blend more paintings'")
        ui["editor"] = gr.ImageEditor(type="pil", label="Brush over the photo", height=320, sources=(),
                                      transforms=(), layers=False, elem_id="mask_editor",
                                      brush=gr.Brush(colors=[("#ff3366", 0.6)], color_mode="fixed"))
    with gr.Accordion("Blend more paintings", open=False):
        with gr.Row():
            ui["style_2"], _ = _picture_box("Second painting", "style_2", ["upload", "clipboard"], 140)
            ui["style_3"], _ = _picture_box("Third painting", "style_3", ["upload", "clipboard"], 140)
        with gr.Row():
            for i in (1, 2, 3):
                ui[f"blend_{i}"] = gr.Slider(0, 1, API_DEFAULTS[f"blend_{i}"], step=0.05,
                                             label=f"Weight of painting {i}", min_width=100,
                                             elem_id=f"blend_{i}")
    _advanced(ui)


def _results(ui: dict) -> None:
    """The right column: the live picture, the status lines, the results and the loss chart."""
    ui["live"] = gr.Image(label=LIVE_LABEL, format="jpeg", interactive=False,
                          height=420, buttons=["fullscreen"], elem_id="live")
    ui["compare"] = gr.ImageSlider(label="Before / after", visible=False, format="jpeg",
                                   max_height=420, buttons=["fullscreen"], elem_id="compare")
    # labels name them on the API page (a Markdown shows none)
    ui["status"] = gr.Markdown("Pick a photo and a painting, then press **Paint**.", label="Status",
                               elem_id="status")
    ui["details"] = gr.Markdown("", label="Details", elem_id="details")
    with gr.Row():
        ui["download"] = gr.DownloadButton("Download PNG", visible=False, size="md", elem_id="download")
        ui["lapse_file"] = gr.DownloadButton("Download time-lapse", visible=False, size="md", elem_id="lapse_dl")
        ui["refine"] = gr.Button("Refine at a larger size", interactive=False, size="md", elem_id="refine")
        ui["first_lapse"] = gr.DownloadButton("Download the first run's time-lapse", visible=False, size="md",
                                              elem_id="first_lapse_dl")
    printing.build(ui)
    ui["lapse"] = gr.Image(label="Time-lapse of this run", type="filepath", visible=False, interactive=False,
                           height=260, elem_id="lapse")
    ui["losses"] = gr.Plot(label="Losses", elem_id="losses", show_label=False)
    gr.Markdown("Content: how far the picture is from the photo's layout. Style: how far its "
                "textures are from the painting's. Total: what the optimiser lowers. At each "
                "finer level (dotted line) the picture is enlarged, and its curve continues "
                "from where the coarser one ended; a violet line marks where a slider moved.",
                elem_classes="caption")
    # the API's mask parameters, filled from the brush when Paint is pressed
    ui["mask"] = image_input(label="Mask", visible=False, elem_id="mask_file")
    ui["mask_mode"] = gr.Radio(["inside", "split"], value=API_DEFAULTS["mask_mode"], label="Mask mode",
                               visible=False)


PAGE = dict(api_visibility="private")
LIGHT = dict(concurrency_limit=None, show_progress="hidden", **PAGE)  # never waits for a run
# on a phone the picture sits below the controls: bring it into view (no jump if it is), once
# the run's progress shows and the Stop bar (app.PHONE_CSS) has left the page's flow
# and keep it there for 2 s: the page above it can still change height (the results of the run
# before leave, the Stop bar leaves the flow) and would push it out of view again
SCROLL = ("() => { const t0 = Date.now(); let t1 = 0; const go = () => {"
          " const e = document.getElementById('live'); const r = e && e.getBoundingClientRect();"
          " const bar = document.getElementById('steer');"  # the Stop bar, where it floats over the foot
          " const foot = window.innerHeight - (bar && getComputedStyle(bar).position === 'fixed' ? bar.offsetHeight : 0);"
          " if (r && (r.top < 0 || r.bottom > foot))"
          " e.scrollIntoView({behavior: t1 ? 'auto' : 'smooth', block: 'start'});"
          " t1 = t1 || Date.now(); if (Date.now() - t1 < 2000) setTimeout(go, 400); };"
          " const wait = () => document.querySelector('#live > .wrap:not(.hide)') || Date.now() - t0 > 3000"
          " ? requestAnimationFrame(go) : setTimeout(wait, 50); wait(); }")


def _wire_paint(ui: dict) -> None:
    """Paint (one check that never waits for a run, then the queued /stylize), Refine and Stop; the preset
    labels follow the photo, the settings that change the plan and the machine's speed, which
    every run refreshes (the size a label names is the size its run paints)."""
    api_inputs = [ui[name] for name in API_PARAMS]  # one mapping, keyed by parameter name
    painting = dict(outputs=[ui[k] for k in OUTPUTS], concurrency_limit=1, concurrency_id="device",
                    show_progress="full", show_progress_on=[ui["live"]])
    ui["paint"].click(None, js=SCROLL, **PAGE)
    checks = [ui["where"], ui["editor"], *api_inputs]
    # no progress shown: a refusal would mark the live picture's box "Error" (the sentence is enough)
    start = ui["paint"].click(_start, checks, [ui[k] for k in ("live", "compare", "mask", "mask_mode", "status",
                                                               "details", "losses")], **LIGHT)
    plan_inputs = [ui["content"], ui["optimizer"], ui["precision"], ui["pyramid"]]
    labels = dict(fn=_preset_labels, inputs=plan_inputs, outputs=ui["preset"], queue=False, **PAGE)
    gr.on([box.change for box in plan_inputs], **labels)
    Context.root_block.load(**labels)
    hide_live = dict(fn=lambda: gr.update(visible=False), inputs=None, outputs=ui["live"], queue=False, **PAGE)
    start.success(stylize, api_inputs, api_name="stylize", **painting).success(**hide_live).then(**labels)
    ui["refine"].click(_start_refine, [ui["download"], ui["lapse_file"]],
                       [ui["live"], ui["compare"], ui["status"], ui["details"], ui["first_lapse"], ui["losses"]],
                       queue=False, **PAGE).then(
        _arm, None, None, queue=False, **PAGE).success(refine, [ui["download"], *api_inputs], **PAGE,
                                                       **painting).success(**hide_live).then(**labels)
    refine_label = dict(fn=_refine_label, inputs=[ui["download"], ui["preset"], ui["seconds"]],
                        outputs=ui["refine"], queue=False, **PAGE)
    gr.on([ui["preset"].change, ui["seconds"].change], **refine_label)
    printing.wire(ui, api_inputs, painting, PAGE, _arm)
    # Stop reaches the runs' cancel Events, so a run ends with its best picture; not an API.
    ui["stop"].click(_stop, None, None, queue=False, **PAGE)


def _wire_controls(ui: dict) -> None:
    """The example galleries, the preset's reset of size and steps, the brush's canvas, and the
    sliders that reach a running picture like Stop does: outside the queue, through the session."""
    for gallery, target, choices in (("content_thumbs", "content", PHOTOS), ("style_thumbs", "style", STYLES)):
        ui[gallery].select(picker(choices), None, ui[target], queue=False, **PAGE)
    ui["preset"].change(lambda: (0, 0, 0), None, [ui["steps"], ui["size"], ui["seconds"]], queue=False, **PAGE)
    knobs = [ui["ratio_exp"], *(ui[f"w_{l}"] for l in STYLE_LAYERS), *(ui[f"blend_{i}"] for i in (1, 2, 3))]
    # One event for all of them, so a value sent later is never overtaken by an earlier one:
    # a change event sends at most one call at a time and then the latest values (always_last),
    # where one event per slider would race (two sliders moved at once, applied in either order).
    # A refusal outside the queue shows nothing on the page: said again inside it, as a toast.
    steering = [*knobs, ui["style_2"], ui["style_3"]]
    gr.on([knob.change for knob in knobs], _steer, steering, None, queue=False, **PAGE).failure(
        _steer, steering, None, **LIGHT)
    ui["content"].change(_to_editor, ui["content"], ui["editor"], queue=False, **PAGE)


def _advanced(ui: dict):
    lim = limits.LIMITS
    with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
        gr.Markdown("**How much each scale of the painting counts** (0 leaves it out). The paper's "
                    "style-layer weights w_l, 1/5 each.", elem_classes="caption")
        with gr.Column(elem_id="layer-weights"):  # one per line: readable at 390 px and at 1280 px
            for l in STYLE_LAYERS:
                ui[f"w_{l}"] = gr.Slider(0, lim.max_layer_weight, API_DEFAULTS[f"w_{l}"], step=0.05,
                                         label=f"{LAYER_WORDS[l]} ({l})", elem_id=f"w_{l}")
        with gr.Row():
            ui["size"] = gr.Slider(0, lim.max_size, 0, step=32, label="Size in px (0 = the preset's)",
                                   info=f"long side, {lim.min_size} to {lim.max_size}", min_width=160,
                                   elem_id="size")
            ui["steps"] = gr.Slider(0, lim.max_steps, 0, step=10, label="Steps (0 = what the time holds)",
                                    info="a fixed number: the same picture for the same seed", min_width=160,
                                    elem_id="steps")
            ui["seconds"] = gr.Slider(0, lim.max_seconds, 0, step=5, label="Seconds (0 = the preset's)",
                                      info="your own time budget", min_width=160, elem_id="seconds")
        with gr.Row():
            ui["init"] = gr.Radio(list(INITS), value=API_DEFAULTS["init"], label="Start from",
                                  info="noise is the paper's start: wilder, more painterly", min_width=160)
            ui["colors"] = gr.Radio(list(COLORS), value=API_DEFAULTS["colors"], label="Colours from",
                                    info="luminance or histogram keep the photo's colours", min_width=160)
        with gr.Row():
            ui["style_scale"] = gr.Slider(*lim.style_scale, API_DEFAULTS["style_scale"], step=0.05,
                                          label="Brush size", min_width=160,
                                          info="the painting's size relative to the picture (style scale)")
            ui["tv_weight"] = gr.Slider(0, lim.max_tv_weight, API_DEFAULTS["tv_weight"], step=0.01,
                                        label="Smoothing", min_width=160,
                                        info="irons out speckle (total-variation weight; not in the paper)")
        with gr.Row():
            ui["content_layer"] = gr.Dropdown(list(LAYERS), value=API_DEFAULTS["content_layer"],
                                              label="Where the photo's layout is read", min_width=160,
                                              info="deeper = looser (content layer; the paper: conv4_2)")
            ui["pooling"] = gr.Radio(list(POOLINGS), value=API_DEFAULTS["pooling"], label="Network pooling",
                                     info="avg is the paper's: smoother gradients", min_width=160)
        with gr.Row():
            ui["optimizer"] = gr.Radio(list(OPTIMIZERS), value=API_DEFAULTS["optimizer"],
                                       label="Optimiser", min_width=160,
                                       info="the paper: L-BFGS; auto = Adam coarse, L-BFGS at full size")
            ui["precision"] = gr.Radio(list(PRECISIONS), value=API_DEFAULTS["precision"],
                                       label="Arithmetic", min_width=160,
                                       info="bf16 is two to three times as fast on capable hardware")
        with gr.Row():
            ui["lr"] = gr.Slider(*lim.lr, API_DEFAULTS["lr"], step=0.1, label="Adam step size", min_width=160,
                                 info="how far each step moves the pixels (0-255 scale)")
            ui["seed"] = gr.Number(API_DEFAULTS["seed"], label="Random seed", precision=0, minimum=0,
                                   maximum=lim.max_seed, min_width=120, info="for the noise start")
            ui["pyramid"] = gr.Checkbox(API_DEFAULTS["pyramid"], label="Coarse to fine",
                                        info="paint small first, then enlarge (faster)", min_width=120)

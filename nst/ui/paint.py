"""The Paint tab: a photo, a painting, Paint, and the picture streaming in.

`stylize` is the public /stylize endpoint; its parameters become Settings here, and
Settings.validate (with the server's Limits) is the only place that checks them.
"""
from __future__ import annotations

import inspect
import math
from pathlib import Path

import gradio as gr
from PIL import Image

from .. import images
from ..settings import COLORS, INITS, LAYERS, OPTIMIZERS, POOLINGS, PRECISIONS, STYLE_LAYERS, Settings, preset
from ..settings import PRESETS as ALL_PRESETS
from . import progress, run
from .image_input import image_input

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PHOTOS = sorted((EXAMPLES / "photos").glob("*.jpg"))
# The famous paintings first, then the project's own procedural ones.
FAMOUS = ("starry_night", "the_scream", "shipwreck", "woman-with-hat-matisse")
STYLES = sorted((EXAMPLES / "styles").glob("*.jpg"), key=lambda p: (p.stem not in FAMOUS, p.stem))
PRESETS = ALL_PRESETS[run.DEVICE_KIND]
_D = Settings()  # the library's defaults, shown by the widgets and the API alike
THIN = 2.0  # long/short above this: a thin picture gets the pixel count of a square of its size

# Plain words first; the paper's term and the range in the info text.
LAYER_WORDS = {"conv1_1": "Fine grain", "conv2_1": "Small strokes", "conv3_1": "Brush strokes",
               "conv4_1": "Larger motifs", "conv5_1": "Big shapes"}


# ---------------------------------------------------------------------------- parameters
def _number(name: str, v) -> float:
    """A parameter as a number (the range is Settings.validate's business)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    return int(x) if x == int(x) and math.isfinite(x) else x


def _size_for(size: int, wh: tuple[int, int]) -> tuple[int, str]:
    """A very wide or tall picture keeps the pixel count of a square of `size` (never a sliver);
    the note says so."""
    w, h = wh
    aspect = max(w, h) / min(w, h)
    if aspect <= THIN:
        return size, ""
    grown = min(run.LIMITS.max_size, int(size * math.sqrt(aspect)))
    if grown <= size:
        return size, ""
    out = images.fit_size(w, h, grown)
    return grown, (f"This picture is {aspect:.1f} times as wide as it is tall, so it is painted at "
                   f"{out[0]}×{out[1]} px (about the pixels of a {size}×{size} square) rather than "
                   f"as a thin strip." if w > h else
                   f"This picture is {aspect:.1f} times as tall as it is wide, so it is painted at "
                   f"{out[0]}×{out[1]} px (about the pixels of a {size}×{size} square) rather than "
                   f"as a thin strip.")


def inputs(p: dict, max_side: int = run.WORK_SIDE):
    """(photo, paintings, Settings, note) from the endpoint's parameters; ValueError (a sentence)
    for anything refused."""
    content = run.picture("the photo", p["content"], max_side=max_side)
    slots = [("the painting", p["style"], p["blend_1"], True),
             ("the second painting", p["style_2"], p["blend_2"], False),
             ("the third painting", p["style_3"], p["blend_3"], False)]
    styles, blend = [], []
    for name, path, weight, required in slots:  # each painting keeps its own slot's weight
        img = run.picture(name, path, required, max_side)
        if img is not None:
            styles.append(img)
            blend.append(_number(f"the weight of {name}", weight))
    s = preset(p["preset"], run.DEVICE_KIND)
    size = _number("size", p["size"]) or s.size
    note = ""
    if isinstance(size, int):
        size, note = _size_for(size, content.size)
    w = {l: _number(f"the weight of {l}", p[f"w_{l}"]) for l in STYLE_LAYERS}
    s = s.replace(
        size=size, steps=_number("steps", p["steps"]) or s.steps, seed=_number("seed", p["seed"]),
        optimizer=p["optimizer"], lr=_number("lr", p["lr"]), init=p["init"], pooling=p["pooling"],
        content_weight=10.0 ** _number("ratio_exp", p["ratio_exp"]), style_weight=1.0,
        content_layers=(p["content_layer"],),
        style_layers=tuple(l for l, v in w.items() if v > 0),
        layer_weights=tuple(v for v in w.values() if v > 0),
        style_blend=tuple(blend) if len(styles) > 1 else None,
        style_scale=_number("style_scale", p["style_scale"]), tv_weight=_number("tv_weight", p["tv_weight"]),
        pyramid=bool(p["pyramid"]), colors=p["colors"], precision=p["precision"],
        frame_every=1_000_000, frame_seconds=run.FRAME_SECONDS)
    if len(styles) == 1 and blend[0] <= 0:
        raise ValueError("give the painting a weight above 0")
    s.validate(n_styles=len(styles), limits=run.LIMITS)
    return content, styles, s, note


# ---------------------------------------------------------------------------- running
OUTPUTS = ("live", "status", "details", "losses", "compare", "download", "refine")


def _paint(content, styles, settings: Settings, request, note: str = "", init_image=None):
    """Stream a run to the page: (live image, status, details, loss chart, before/after, PNG,
    Refine button)."""
    clock, curve, png = progress.Clock(), progress.LossCurve(), None
    with run.RUNS.run(run.session_of(request)) as cancel:
        if cancel.is_set():  # Stop was pressed while this run waited: the page keeps what it shows
            yield tuple(gr.skip() for _ in OUTPUTS)
            return
        try:
            frames = run.frames(content, styles, settings, None if run.ON_ZEROGPU else cancel, init_image)
            ending = "Done"
            for f in frames:
                if f.elapsed > run.MAX_SECONDS and not cancel.is_set():
                    ending = f"Stopped at the {run.MAX_SECONDS:.0f} s limit"
                    cancel.set()  # the engine ends after this step with the best image so far
                if run.ON_ZEROGPU and cancel.is_set() and not f.done:  # no shared Event across processes
                    frames.close()
                    f.done = True
                curve.add(f)
                if not f.done:
                    yield (f.image, *progress.status(f, clock, note), curve.chart(f.total),
                           gr.skip(), gr.skip(), gr.update(interactive=False))
                    continue
                if cancel.is_set() and ending == "Done":
                    ending = "Stopped: the best picture so far"
                png = run.save_png(f.image)
                ref = content.resize(f.image.size, Image.LANCZOS)
                lim = run.LIMITS.max_size
                yield (f.image, *progress.status(f, clock, note, ending), curve.chart(f.total),
                       gr.update(value=(ref, f.image), visible=True),
                       gr.update(value=png, visible=True, label=f"Download PNG ({f.image.width}×{f.image.height})"),
                       gr.update(interactive=f.image.width < lim and f.image.height < lim))
                break
        except (ValueError, FloatingPointError, RuntimeError) as e:
            err = run.failure(e)  # shown twice: a toast, and the status line where the eyes are
            yield (gr.skip(), f"**{err.title}.** {err.message}", *[gr.skip()] * (len(OUTPUTS) - 2))
            raise err from None
        finally:
            if png:  # Gradio has copied it into its cache (the last yield is processed by now)
                Path(png).unlink(missing_ok=True)


def stylize(content: str, style: str, preset: str = "quick",
            style_2: str | None = None, style_3: str | None = None,
            blend_1: float = 1.0, blend_2: float = 0.5, blend_3: float = 0.5,
            ratio_exp: float = round(math.log10(_D.ratio), 2),
            w_conv1_1: float = 0.2, w_conv2_1: float = 0.2, w_conv3_1: float = 0.2,
            w_conv4_1: float = 0.2, w_conv5_1: float = 0.2,
            content_layer: str = _D.content_layers[0], init: str = _D.init, pooling: str = _D.pooling,
            optimizer: str = _D.optimizer, lr: float = _D.lr, steps: int = 0, size: int = 0,
            style_scale: float = _D.style_scale, colors: str = _D.colors, tv_weight: float = _D.tv_weight,
            pyramid: bool = _D.pyramid, precision: str = _D.precision, seed: int = _D.seed,
            request: gr.Request = None):
    """__DOC__"""
    params = {k: v for k, v in locals().items() if k != "request"}
    try:
        content_img, styles, s, note = inputs(params)
    except ValueError as e:
        raise run.refuse(e) from None
    yield from _paint(content_img, styles, s, request, note)


API_PARAMS = [p for p in inspect.signature(stylize).parameters if p != "request"]
API_DEFAULTS = {p: inspect.signature(stylize).parameters[p].default for p in API_PARAMS}


def _doc() -> str:
    """stylize's docstring with this machine's real limits: Gradio's API page shows its first
    paragraph as the description, each Args line beside its parameter, each Returns line as one
    item."""
    lim = run.LIMITS
    presets = ", ".join(f"'{n}' {sz} px × {st} steps" for n, (sz, st) in PRESETS.items())
    return f"""Paint a photo in the style of a painting (Gatys, Ecker & Bethge 2015), streaming the picture as it is painted. Only content and style are required. Every other parameter has a default and is checked on this server; a refusal is an error whose message says what to change. Each run stops after {run.MAX_SECONDS:.0f} s with its best picture.

    Args:
        content: the photo: JPEG, PNG, WebP, GIF, BMP or TIFF, up to {run.MAX_FILE_MB} MB and 64 megapixels.
        style: the painting (same formats).
        preset: {presets} on this machine's {'GPU' if run.GPU else 'CPU'}.
        style_2: optional second painting, blended with the first.
        style_3: optional third painting.
        blend_1: weight of painting 1, 0 to {lim.max_blend:g}.
        blend_2: weight of painting 2 (used only with style_2), 0 to {lim.max_blend:g}.
        blend_3: weight of painting 3 (used only with style_3), 0 to {lim.max_blend:g}.
        ratio_exp: log10(alpha/beta), photo against painting, -8 to 2; the paper used -3 or -4 (lower = more painting).
        w_conv1_1: style-layer weight w_l of conv1_1 (fine grain), 0 to {lim.max_layer_weight:g}; 0 leaves the layer out.
        w_conv2_1: w_l of conv2_1, 0 to {lim.max_layer_weight:g}.
        w_conv3_1: w_l of conv3_1, 0 to {lim.max_layer_weight:g}.
        w_conv4_1: w_l of conv4_1, 0 to {lim.max_layer_weight:g}.
        w_conv5_1: w_l of conv5_1 (big shapes), 0 to {lim.max_layer_weight:g}.
        content_layer: where the photo's layout is matched, {LAYERS[0]} to {LAYERS[-1]}; the paper: conv4_2.
        init: the starting picture, {' | '.join(INITS)}; the paper: noise.
        pooling: {' | '.join(POOLINGS)}; the paper: avg.
        optimizer: {' | '.join(OPTIMIZERS)}; the paper: lbfgs (which needs precision fp32 or auto).
        lr: Adam's step size on the 0-255 pixel scale, {lim.lr[0]:g} to {lim.lr[1]:g}.
        steps: 0 = the preset's, else 1 to {lim.max_steps}.
        size: long side in px; 0 = the preset's, else {lim.min_size} to {lim.max_size}. A picture more than {THIN:g} times as wide as tall (or tall as wide) gets the pixel count of a size × size square.
        style_scale: the painting's size relative to the picture (brush size), {lim.style_scale[0]:g} to {lim.style_scale[1]:g}.
        colors: {' | '.join(COLORS)}; luminance and histogram keep the photo's colours.
        tv_weight: total-variation smoothing, 0 to {lim.max_tv_weight:g}.
        pyramid: paint coarse to fine (faster).
        precision: {' | '.join(PRECISIONS)}.
        seed: for the noise start, 0 to {lim.max_seed}.

    Returns:
        image: the picture so far, about three times a second; the last one is the best.
        status: size, step and time left (markdown); "Done" or "Stopped" at the end.
        details: pyramid level, seconds per step, device, arithmetic and optimiser.
        losses: the loss chart (a Vega-Lite spec).
        before/after: the photo and the result (last update only).
        PNG: the full-size result as a file (last update only).
        refine: the page's Refine button state.
    """


stylize.__doc__ = _doc()


def _describe(ui: dict) -> None:
    """Each API parameter's line of the docstring's Args, shown beside it on the API page
    (Gradio shows only the docstring's first paragraph for the endpoint itself)."""
    _, described, _ = gr.utils.get_function_description(stylize)
    for name in API_PARAMS:
        info = ui[name].api_info()
        text = described[name][:1].upper() + described[name][1:]
        ui[name].api_info = lambda info=info, text=text: {**info, "additional_description": text}


def refine(request: gr.Request, result: str | None, *values):
    """Continue from the current result at 1.5x the size (page only, not part of the API).

    The result is the starting image and the photo stays the content target (single scale):
    the picture is kept and the optimiser adds detail at the new resolution."""
    try:
        if not result or not Path(str(result)).is_file():
            raise ValueError("paint a picture first; Refine continues from it")
        params = dict(zip(API_PARAMS, values))
        prev = run.picture("the result", result)
        side = min(run.LIMITS.max_size, int(max(prev.size) * 1.5) // 32 * 32)
        steps = max(20, PRESETS.get(params["preset"], (0, 100))[1] // 2)
        photo, styles, s, _ = inputs({**params, "size": side, "steps": steps, "pyramid": False})
    except ValueError as e:
        raise run.refuse(e) from None
    yield from _paint(photo, styles, s, request, init_image=prev)


# ---------------------------------------------------------------------------- page handlers
def _show_live():
    """The moment Paint is pressed: the live picture takes the before/after view's place."""
    return gr.update(visible=True), gr.update(visible=False)


def _arm(request: gr.Request):
    """In the same chain as the run it precedes (so a click Gradio ignores arms nothing): the
    run's cancel Event, so Stop works while the run waits for its turn."""
    run.RUNS.arm(request.session_hash)


def _check(request: gr.Request, *values):
    """Paint's check, queued but beside the painting runs (so it never waits for them): a refusal
    is shown at once, as a toast and in the status line."""
    try:
        inputs(dict(zip(API_PARAMS, values)), max_side=256)
    except ValueError as e:
        yield "**Not painted.** " + run.sentence(e), ""
        raise run.refuse(e, "Not painted") from None
    _arm(request)
    yield "**Waiting for the machine…**", ""


def _stop(request: gr.Request):
    run.RUNS.stop(request.session_hash)


def _note(path):
    """An upload is checked when it lands: a refused file is named under its box at once."""
    text = run.upload_note(path)
    if text:
        gr.Warning(text, title="Image refused")
    return gr.update(value=text, visible=bool(text))


def _picker(files):
    def pick(evt: gr.SelectData):
        return str(files[evt.index])
    return pick


# ---------------------------------------------------------------------------- layout
def _preset_choices():
    return [(f"{name.capitalize()} · {sz} px, {st} steps", name) for name, (sz, st) in PRESETS.items()]


def _thumbs(files, label):
    return gr.Gallery([(str(p), p.stem.replace("-", " ").replace("_", " ")) for p in files], label=label,
                      show_label=False, container=False, columns=5, height="auto", min_width=120,
                      allow_preview=False, object_fit="cover", elem_classes="thumbs", buttons=[])


def _picture_box(label, elem_id, sources, height):
    box = image_input(label=label, height=height, min_width=120, sources=sources, elem_id=elem_id)
    note = gr.Markdown("", visible=False, elem_classes="refusal", elem_id=f"{elem_id}-note")
    box.change(_note, box, note, api_visibility="private", concurrency_limit=None,
               show_progress="hidden")
    return box, note


def build():
    """The Paint tab's widgets (call inside `with gr.Tab(...)`); returns the photo and painting
    boxes (the Explore tab can copy from them)."""
    ui = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300):
            with gr.Row():
                with gr.Column(min_width=120):
                    ui["content"], _ = _picture_box("Photo", "content", ["upload", "webcam", "clipboard"], 220)
                    content_thumbs = _thumbs(PHOTOS, "Example photos")
                with gr.Column(min_width=120):
                    ui["style"], _ = _picture_box("Painting", "style", ["upload", "clipboard"], 220)
                    style_thumbs = _thumbs(STYLES, "Example paintings")
            ui["preset"] = gr.Radio(_preset_choices(), value="quick", label="Preset",
                                    info=f"size and length for this {'GPU' if run.GPU else 'CPU'}")
            with gr.Row():
                paint_btn = gr.Button("Paint", variant="primary", elem_id="paint")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="stop")
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
        with gr.Column(scale=6, min_width=300):
            live = gr.Image(label="Painting in progress", format="jpeg", interactive=False,
                            height=420, buttons=["fullscreen"], elem_id="live")
            compare = gr.ImageSlider(label="Before / after", visible=False, format="jpeg",
                                     max_height=420, buttons=["fullscreen"], elem_id="compare")
            status = gr.Markdown("Pick a photo and a painting, then press **Paint**.", elem_id="status")
            details = gr.Markdown("", elem_id="details")
            with gr.Row():
                download = gr.DownloadButton("Download PNG", visible=False, size="md", elem_id="download")
                refine_btn = gr.Button("Refine at 1.5× size", interactive=False, size="md", elem_id="refine")
            losses = gr.Plot(label="Losses", elem_id="losses", show_label=False)
            gr.Markdown("Content: how far the picture is from the photo's layout. Style: how far its "
                        "textures are from the painting's. Total: what the optimiser lowers. At each "
                        "finer level (dotted line) the picture is enlarged, and its curve continues "
                        "from where the coarser one ended.", elem_classes="caption")

    api_inputs = [ui[name] for name in API_PARAMS]  # one mapping, keyed by parameter name
    _describe(ui)
    out = dict(live=live, status=status, details=details, losses=losses, compare=compare,
               download=download, refine=refine_btn)
    outputs = [out[k] for k in OUTPUTS]
    painting = dict(outputs=outputs, concurrency_limit=1, concurrency_id="device", show_progress="full",
                    show_progress_on=[live])
    page = dict(api_visibility="private")
    # on a phone the picture sits below the controls: bring it into view (no jump if it is)
    scroll = ("() => { const e = document.getElementById('live'); const r = e && e.getBoundingClientRect();"
              " if (r && (r.top < 0 || r.bottom > window.innerHeight))"
              " e.scrollIntoView({behavior: 'smooth', block: 'start'}); }")
    paint_btn.click(None, js=scroll, **page)
    light = dict(concurrency_limit=None, show_progress="hidden", **page)  # never waits for a run
    paint_btn.click(_show_live, None, [live, compare], queue=False, **page).then(
        _check, api_inputs, [status, details], **light).success(
        stylize, api_inputs, api_name="stylize", **painting).success(
        lambda: gr.update(visible=False), None, live, queue=False, **page)
    refine_btn.click(_show_live, None, [live, compare], queue=False, **page).then(
        _arm, None, None, **light).success(refine, [download, *api_inputs], **page, **painting).success(
        lambda: gr.update(visible=False), None, live, queue=False, **page)
    # Stop reaches the runs' cancel Events, so a run ends with its best picture; not an API.
    stop_btn.click(_stop, None, None, queue=False, **page)
    for thumbs, target, files in ((content_thumbs, ui["content"], PHOTOS), (style_thumbs, ui["style"], STYLES)):
        thumbs.select(_picker(files), None, target, queue=False, **page)
    ui["preset"].change(lambda: (0, 0), None, [ui["steps"], ui["size"]], queue=False, **page)
    return ui["content"], ui["style"]


def _advanced(ui: dict):
    lim = run.LIMITS
    with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
        ui["ratio_exp"] = gr.Slider(-8, 2, API_DEFAULTS["ratio_exp"], step=0.5, label="Photo against painting",
                                    info="lower = more painting. The paper's log₁₀(α/β), content vs style "
                                         "weight; it used -3 or -4.")
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
            ui["steps"] = gr.Slider(0, lim.max_steps, 0, step=10, label="Steps (0 = the preset's)",
                                    info="more steps, more finished", min_width=160, elem_id="steps")
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
                                       info="the paper: L-BFGS; auto = Adam where 16-bit is fast")
            ui["precision"] = gr.Radio(list(PRECISIONS), value=API_DEFAULTS["precision"],
                                       label="Arithmetic", min_width=160,
                                       info="bf16 is about twice as fast on capable hardware; L-BFGS needs fp32")
        with gr.Row():
            ui["lr"] = gr.Slider(*lim.lr, API_DEFAULTS["lr"], step=0.1, label="Adam step size", min_width=160,
                                 info="how far each step moves the pixels (0-255 scale)")
            ui["seed"] = gr.Number(API_DEFAULTS["seed"], label="Random seed", precision=0, minimum=0,
                                   maximum=lim.max_seed, min_width=120, info="for the noise start")
            ui["pyramid"] = gr.Checkbox(API_DEFAULTS["pyramid"], label="Coarse to fine",
                                        info="paint small first, then enlarge (faster)", min_width=120)

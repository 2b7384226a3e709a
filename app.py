"""Live neural style transfer: the Gradio app (wiring only; the maths lives in nst/).

    python app.py            # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT honoured)
    python app.py --share    # also ask Gradio for a public link (or GRADIO_SHARE=1)

HTTP API: /stylize streams (image, status, losses, before/after, PNG) while the optimiser paints;
see its docstring, or the "Use via API" page of the running app.
"""
from __future__ import annotations

import inspect
import os
import sys
import tempfile
import threading
import traceback
import uuid
from pathlib import Path

try:  # ZeroGPU on Hugging Face Spaces: `spaces` must be imported before torch is
    import spaces
except ImportError:
    spaces = None

import gradio as gr
import pandas as pd
from PIL import Image

import explore_tab
from image_input import image_input
import nst
from nst.intake import ImageError, open_image
from nst.settings import LAYERS, STYLE_LAYERS

HERE = Path(__file__).parent
PHOTOS = sorted((HERE / "examples" / "photos").glob("*.jpg"))
STYLES = sorted((HERE / "examples" / "styles").glob("*.jpg"))

DEVICE = nst.engine.resolve_device("auto").type  # 'cpu' | 'cuda' | 'mps'
ON_ZEROGPU = spaces is not None and bool(os.environ.get("SPACES_ZERO_GPU"))
GPU = DEVICE != "cpu" or ON_ZEROGPU
PRESETS = nst.PRESETS["cuda" if GPU else "cpu"]

# Server-side bounds: what one visitor may ask of a shared machine.
MAX_SIZE = 1536 if GPU else 768  # px, long side
MAX_STEPS = 2000 if GPU else 800
MAX_SECONDS = float(os.environ.get("NST_MAX_SECONDS", 120 if GPU else 180))  # wall clock per run
FRAME_SECONDS = 0.3  # a frame at least this often: 2-5 frames/s on any device, and prompt Stop
QUEUE_SIZE = int(os.environ.get("NST_QUEUE_SIZE", 20))
MAX_FILE_SIZE = "15mb"
WORK_SIDE = 2048  # inputs are shrunk to this long side on arrival (the engine resizes anyway)

# The Stop button reaches its run through this: session -> the engine's cancel Event.
_CANCEL: dict[str, threading.Event] = {}
_PNG_DIR = Path(tempfile.gettempdir()) / "nst-app"


# ---------------------------------------------------------------------------- validation
def _need(ok: bool, sentence: str):
    if not ok:
        raise gr.Error(sentence, title="Please check the settings")


def _number(name: str, value, lo: float, hi: float, whole: bool = False) -> float:
    """A parameter from the page or the API, checked to lie in [lo, hi] (refusal: a sentence)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number, got {value!r}.", title="Please check the settings") from None
    _need(lo <= v <= hi, f"{name} must be between {lo:g} and {hi:g}, got {v:g}.")
    if whole:
        _need(v == int(v), f"{name} must be a whole number, got {v:g}.")
        return int(v)
    return v


def _choice(name: str, value, allowed) -> str:
    _need(value in allowed, f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}.")
    return value


def _image(name: str, path, required: bool = True) -> Image.Image | None:
    if path in (None, ""):
        _need(not required, f"Please add a {name} image.")
        return None
    try:
        img = open_image(path, max_side=WORK_SIDE)  # big JPEGs decode at 1/2..1/8 scale
    except ImageError as e:
        raise gr.Error(f"{name.capitalize()} image: {e}", title="Image refused") from None
    img.thumbnail((WORK_SIDE, WORK_SIDE), Image.LANCZOS)
    return img


def _inputs(p: dict):
    """(content image, style images, Settings) from the API's parameters, every one checked here
    whatever the caller sent, then by the engine's own validate()."""
    content = _image("content", p["content"])
    styles = [_image("style", p["style"])] + [
        im for im in (_image("second style", p["style_2"], False), _image("third style", p["style_3"], False)) if im]
    blend = tuple(_number("style blend weight", p[f"blend_{i + 1}"], 0, 1) for i in range(len(styles)))
    _need(sum(blend) > 0, "Give at least one style image a blend weight above 0.")
    size0, steps0 = PRESETS[_choice("preset", p["preset"], tuple(PRESETS))]
    size = _number("size", p["size"], 0, MAX_SIZE, whole=True) or size0
    steps = _number("steps", p["steps"], 0, MAX_STEPS, whole=True) or steps0
    _need(size >= 64, f"size must be 0 (the preset's) or from 64 to {MAX_SIZE} px, got {size}.")
    alpha_over_beta = 10 ** _number("log10(alpha/beta)", p["ratio_exp"], -8, 2)
    w = {l: _number(f"w_l for {l}", p[f"w_{l}"], 0, 1) for l in STYLE_LAYERS}
    _need(any(w.values()), "Give at least one style layer (conv1_1 ... conv5_1) a weight above 0.")
    s = nst.Settings(
        size=size, steps=steps, seed=_number("seed", p["seed"], 0, 2**31 - 1, whole=True),
        optimizer=_choice("optimizer", p["optimizer"], ("auto", "adam", "lbfgs")),
        lr=_number("learning rate", p["lr"], 0.1, 50),
        init=_choice("init", p["init"], ("noise", "content", "style")),
        pooling=_choice("pooling", p["pooling"], ("avg", "max")),
        content_weight=1.0, style_weight=1.0 / alpha_over_beta,
        content_layers=(_choice("content layer", p["content_layer"], LAYERS),),
        style_layers=tuple(l for l, v in w.items() if v > 0),
        layer_weights=tuple(v for v in w.values() if v > 0),
        style_blend=blend if len(styles) > 1 else None,
        style_scale=_number("style scale", p["style_scale"], 0.25, 2),
        tv_weight=_number("TV weight", p["tv_weight"], 0, 10),
        pyramid=bool(p["pyramid"]),
        colors=_choice("colour mode", p["colors"], ("style", "luminance", "histogram")),
        precision=_choice("precision", p["precision"], ("auto", "fp32", "bf16")),
        frame_every=1_000_000, frame_seconds=FRAME_SECONDS,
    )
    try:
        s.validate(n_styles=len(styles))
        nst.resolve(s)  # e.g. refuses L-BFGS under bf16 before anything runs
    except ValueError as e:
        raise gr.Error(f"{str(e)[:1].upper()}{str(e)[1:]}.", title="Please check the settings") from None
    return content, styles, s


# ---------------------------------------------------------------------------- running
def _on_device(fn):
    """On ZeroGPU the run holds a GPU for at most MAX_SECONDS; elsewhere this is a no-op."""
    return spaces.GPU(duration=int(MAX_SECONDS))(fn) if spaces is not None else fn


@_on_device
def _frames(content, styles, settings, cancel, init_image=None):
    # Frames carry PIL images, so this also works when ZeroGPU runs it in another process.
    yield from nst.stylize(content, styles, settings, cancel=cancel, init_image=init_image)


class _Clock:
    """s/step and time left; later pyramid levels cost more per step (by their pixel count)."""

    def __init__(self, settings: nst.Settings):
        self.levels = nst.plan_levels(settings.size, settings.steps, settings.pyramid)
        self.mark = (0, 0, 0.0)  # level, step, elapsed when this level was first seen

    def __call__(self, f: nst.Frame) -> tuple[float, float]:
        if f.scale != self.mark[0]:
            self.mark = (f.scale, self.prev_step, self.prev_elapsed)
        self.prev_step, self.prev_elapsed = f.step, f.elapsed
        _, step0, t0 = self.mark
        per_step = (f.elapsed - t0) / max(1, f.step - step0)
        side = self.levels[f.scale][0]
        done_here = sum(n for _, n in self.levels[: f.scale + 1]) - f.step
        left = per_step * (done_here + sum(n * (sz / side) ** 2 for sz, n in self.levels[f.scale + 1:]))
        return per_step, left

    prev_step, prev_elapsed = 0, 0.0


def _status(f: nst.Frame, clock: _Clock, note: str = "") -> str:
    per_step, left = clock(f)
    side = clock.levels[min(f.scale, len(clock.levels) - 1)][0]
    i = f.info
    where = f"{i.get('device', '?')} · {i.get('precision', '?')} · {i.get('optimizer', '?')}"
    if f.done:
        return (f"**{note or 'Done'}** · {f.image.width}×{f.image.height} px · {f.step} steps in "
                f"{f.elapsed:.1f} s ({per_step:.2f} s/step) · {where}")
    return (f"**Painting** · level {f.scale + 1}/{f.levels} ({side} px) · step {f.step}/{f.total} · "
            f"{per_step:.2f} s/step · about {left:.0f} s left · {where}")


def _loss_table(history: list) -> pd.DataFrame:
    """Each loss term relative to its own peak so far, so all three share one 0..1 axis (the raw
    value stays in the table for API callers)."""
    df = pd.DataFrame(history, columns=["step", "term", "value"]).astype(
        {"step": "int64", "term": "str", "value": "float64"})
    df["relative"] = df["value"] / df.groupby("term")["value"].transform("max").clip(lower=1e-30)
    return df


def _save_png(img: Image.Image) -> str:
    _PNG_DIR.mkdir(exist_ok=True)
    path = _PNG_DIR / f"stylized-{img.width}x{img.height}-{uuid.uuid4().hex[:8]}.png"
    img.save(path)
    return str(path)


def _paint(content: Image.Image, styles: list, settings: nst.Settings, request: gr.Request | None,
           init_image: Image.Image | None = None):
    """Stream a run to the page: (live image, status, loss curve, before/after, PNG, ...)."""
    key = getattr(request, "session_hash", None) or uuid.uuid4().hex
    cancel = _CANCEL.setdefault(key, threading.Event())  # set already if Stop came while queued
    clock, history, png, note = _Clock(settings), [], None, ""
    try:
        frames = _frames(content, styles, settings, None if ON_ZEROGPU else cancel, init_image)
        for f in frames:
            if f.elapsed > MAX_SECONDS and not cancel.is_set():
                note = f"Stopped at the {MAX_SECONDS:.0f} s limit"
                cancel.set()  # the engine ends after this step with the best image so far
            if ON_ZEROGPU and cancel.is_set() and not f.done:  # no shared Event across processes
                frames.close()
                f.done = True
            history += [(f.step, t, f.losses.get(t, 0.0)) for t in ("content", "style", "total")]
            if not f.done:
                yield (f.image, _status(f, clock), _loss_table(history[-900:]),
                       gr.skip(), gr.skip(), gr.update(interactive=False))
                continue
            if cancel.is_set() and not note:
                note = "Stopped: the best image so far"
            png = _save_png(f.image)
            ref = content.resize(f.image.size, Image.LANCZOS)
            yield (f.image, _status(f, clock, note), _loss_table(history[-900:]),
                   gr.update(value=(ref, f.image), visible=True),
                   gr.update(value=png, visible=True, label=f"Download PNG ({f.image.width}×{f.image.height})"),
                   gr.update(interactive=f.image.width < MAX_SIZE and f.image.height < MAX_SIZE))
            break
    except (ValueError, FloatingPointError) as e:
        raise gr.Error(str(e), title="The run stopped") from None
    except RuntimeError as e:
        if "out of memory" in str(e).lower():
            raise gr.Error("The machine ran out of memory; try a smaller size.", title="Out of memory") from None
        traceback.print_exc()  # the cause stays in the server log; the visitor gets a sentence
        raise gr.Error("This run failed on the server; please try a larger size or other images.",
                       title="The run stopped") from None
    finally:
        if _CANCEL.get(key) is cancel:
            del _CANCEL[key]
        if png:  # Gradio has copied it into its cache (the last yield is processed by now)
            Path(png).unlink(missing_ok=True)


def stylize(content: str, style: str, preset: str = "quick",
            style_2: str | None = None, style_3: str | None = None,
            blend_1: float = 1.0, blend_2: float = 0.5, blend_3: float = 0.5,
            ratio_exp: float = -3.0,
            w_conv1_1: float = 0.2, w_conv2_1: float = 0.2, w_conv3_1: float = 0.2,
            w_conv4_1: float = 0.2, w_conv5_1: float = 0.2,
            content_layer: str = "conv4_2", init: str = "content", pooling: str = "avg",
            optimizer: str = "auto", lr: float = 4.0, steps: int = 0, size: int = 0,
            style_scale: float = 1.0, colors: str = "style", tv_weight: float = 0.0,
            pyramid: bool = True, precision: str = "auto", seed: int = 0,
            request: gr.Request = None):
    """Paint `content` in the style of `style` (Gatys, Ecker & Bethge 2015), streaming frames.

    Only the first two parameters are required: image files (JPEG/PNG/WebP..., up to 15 MB and
    64 megapixels). Everything else has a default and is checked on the server (a refusal is an
    error whose message says what to change):

    preset: 'quick' | 'balanced' | 'best' (size and steps for this machine's device).
    style_2, style_3: optional extra style images; blend_1..blend_3 (0..1) weigh the styles.
    ratio_exp: log10(alpha/beta), the content:style weight ratio, -8..2 (paper: -3 or -4).
    w_conv1_1 .. w_conv5_1: the style-layer weights w_l (0..1; a 0 drops the layer).
    content_layer: conv1_1 .. conv5_4 (paper: conv4_2). init: 'noise' (paper) | 'content' | 'style'.
    pooling: 'avg' (paper) | 'max'. optimizer: 'auto' | 'adam' | 'lbfgs' (paper); lr: Adam step.
    steps, size: 0 takes the preset's; else 1..MAX_STEPS and 64..MAX_SIZE px (long side).
    style_scale: style image size relative to the output, 0.25..2. colors: 'style' | 'luminance'
    (keep the photo's colours) | 'histogram'. tv_weight: smoothness, 0..10. pyramid: paint coarse
    to fine. precision: 'auto' | 'fp32' | 'bf16'. seed: for the noise init.

    Yields, about three times a second: (image, status markdown, loss table, before/after pair,
    PNG file, Refine-button state). The last yield holds the best image and the full-size PNG. Cancel
    the job to stop; each run is also capped at MAX_SECONDS of wall-clock time.
    """
    params = {k: v for k, v in locals().items() if k != "request"}
    yield from _paint(*_inputs(params), request)


API_PARAMS = [p for p in inspect.signature(stylize).parameters if p != "request"]


def refine(request: gr.Request, result: str | None, *values):
    """Continue from the current result at 1.5x the size (page only, not part of the API).

    The result is the starting image and the photo stays the content target (single scale):
    the picture is kept and the optimiser adds detail at the new resolution."""
    _need(bool(result) and Path(str(result)).is_file(), "Paint a picture first; Refine continues from it.")
    params = dict(zip(API_PARAMS, values))
    prev = _image("result", result)
    side = min(MAX_SIZE, int(max(prev.size) * 1.5) // 32 * 32)
    steps = max(20, PRESETS.get(params["preset"], (0, 100))[1] // 2)
    photo, styles, s = _inputs({**params, "size": side, "steps": steps, "pyramid": False})
    yield from _paint(photo, styles, s, request, init_image=prev)


def _arm(request: gr.Request):
    """Runs the moment Paint is pressed: a fresh cancel Event, so Stop works while queued too;
    the live picture takes the place of the last before/after view."""
    _CANCEL[request.session_hash] = threading.Event()
    return gr.update(visible=True), gr.update(visible=False)


def _arm_checked(content, style, request: gr.Request):
    """Paint's first step, outside the queue: a refused upload gets its sentence at once instead
    of when its turn in the queue comes (the queued run checks everything again)."""
    _image("content", content)
    _image("style", style)
    return _arm(request)


def _show_compare():
    """After a run the before/after slider (shown by the last frame) takes the live picture's place."""
    return gr.update(visible=False)


def _stop(request: gr.Request):
    ev = _CANCEL.get(request.session_hash)
    if ev is not None:
        ev.set()


# ---------------------------------------------------------------------------- the page
CSS = """
.gradio-container {max-width: 1180px !important; margin: auto}
#title h1 {margin-bottom: 0}
#title p {margin-top: .2em; opacity: .8}
#status p {margin: .2em 0; font-variant-numeric: tabular-nums}
#live img {width: 100%; height: 100%; object-fit: contain}
.thumbs .grid-wrap {min-height: 0 !important; max-height: none !important}
.thumbs .grid-container {grid-template-columns: repeat(auto-fill, minmax(44px, 1fr)) !important;
                         grid-auto-rows: auto !important; gap: 4px !important}
.thumbs .thumbnail-item {width: 100% !important; height: auto !important; aspect-ratio: 1}
@media (max-width: 640px) {
  .app {padding-left: 8px !important; padding-right: 8px !important}
  #title h1 {font-size: 1.35em}
}
"""


def _preset_choices():
    return [(f"{name.capitalize()} · {sz} px, {st} steps", name) for name, (sz, st) in PRESETS.items()]


def _thumbs(files, label):
    return gr.Gallery([str(p) for p in files], label=label, show_label=False, container=False,
                      columns=5, height="auto", min_width=120, allow_preview=False, object_fit="cover",
                      elem_classes="thumbs", buttons=[])


def build() -> gr.Blocks:
    with gr.Blocks(title="Live neural style transfer", delete_cache=(900, 3600)) as blocks:
        gr.Markdown(
            "# Live neural style transfer\n"
            "Drop in a photo and a painting (or click an example under each), press **Paint**, and "
            "watch the photo being painted, step by step: "
            "[Gatys, Ecker & Bethge (2015)](https://arxiv.org/abs/1508.06576) "
            f"on the original VGG-19, running on this machine's **{'GPU' if GPU else 'CPU'}**.",
            elem_id="title")
        with gr.Tab("Paint"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=5, min_width=300):
                    with gr.Row():
                        with gr.Column(min_width=120):
                            content = image_input(label="Photo", height=220, min_width=120,
                                               sources=["upload", "webcam", "clipboard"], elem_id="content")
                            content_thumbs = _thumbs(PHOTOS, "Example photos")
                        with gr.Column(min_width=120):
                            style = image_input(label="Painting", height=220, min_width=120,
                                             sources=["upload", "clipboard"], elem_id="style")
                            style_thumbs = _thumbs(STYLES, "Example paintings")
                    preset = gr.Radio(_preset_choices(), value="quick", label="Preset",
                                      info=f"sizes and steps for this {'GPU' if GPU else 'CPU'}")
                    with gr.Row():
                        paint_btn = gr.Button("Paint", variant="primary", elem_id="paint")
                        stop_btn = gr.Button("Stop", variant="stop", elem_id="stop")
                    with gr.Accordion("Blend more paintings", open=False):
                        with gr.Row():
                            style_2 = image_input(label="Second painting", height=140,
                                               sources=["upload", "clipboard"], min_width=120)
                            style_3 = image_input(label="Third painting", height=140,
                                               sources=["upload", "clipboard"], min_width=120)
                        with gr.Row():
                            blend = [gr.Slider(0, 1, v, step=0.05, label=f"Weight of painting {i + 1}",
                                               min_width=100) for i, v in enumerate((1.0, 0.5, 0.5))]
                    with gr.Accordion("Advanced (the paper's settings)", open=False):
                        ratio = gr.Slider(-8, 2, -3, step=0.5, label="log₁₀(α/β): content vs style weight",
                                          info="paper: -3 or -4; lower = more style")
                        gr.Markdown("Style layer weights w_l (0 drops a layer; paper: 1/5 each)")
                        with gr.Row():
                            layer_w = [gr.Slider(0, 1, 0.2, step=0.05, label=l, min_width=90)
                                       for l in STYLE_LAYERS]
                        with gr.Row():
                            content_layer = gr.Dropdown(list(LAYERS), value="conv4_2", label="Content layer",
                                                        min_width=120)
                            init = gr.Radio(["content", "noise", "style"], value="content",
                                            label="Start from", info="paper: noise", min_width=160)
                            pooling = gr.Radio(["avg", "max"], value="avg", label="Pooling",
                                               info="paper: avg", min_width=120)
                        with gr.Row():
                            optimizer = gr.Radio(["auto", "adam", "lbfgs"], value="auto", label="Optimizer",
                                                 info="paper: L-BFGS; auto = Adam + bf16 where fast", min_width=160)
                            precision = gr.Radio(["auto", "fp32", "bf16"], value="auto", label="Precision",
                                                 min_width=160)
                            lr = gr.Slider(0.1, 50, 4.0, step=0.1, label="Adam step size (0-255 scale)",
                                           min_width=160)
                        with gr.Row():
                            steps = gr.Slider(0, MAX_STEPS, 0, step=10, label="Steps (0 = preset)", min_width=160)
                            size = gr.Slider(0, MAX_SIZE, 0, step=32, label="Size, long side px (0 = preset)",
                                             min_width=160)
                        with gr.Row():
                            style_scale = gr.Slider(0.25, 2, 1.0, step=0.05, label="Style scale", min_width=140,
                                                    info="painting size relative to the output")
                            tv_weight = gr.Slider(0, 10, 0, step=0.01, label="TV weight (smoothness)", min_width=140)
                            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**31 - 1,
                                             min_width=100)
                        with gr.Row():
                            colors = gr.Radio(["style", "luminance", "histogram"], value="style",
                                              label="Colours", info="luminance keeps the photo's colours")
                            pyramid = gr.Checkbox(True, label="Coarse-to-fine pyramid")
                with gr.Column(scale=6, min_width=300):
                    live = gr.Image(label="Painting in progress", format="jpeg", interactive=False,
                                    height=420, buttons=["fullscreen"], elem_id="live")
                    compare = gr.ImageSlider(label="Before / after", visible=False, format="jpeg",
                                             max_height=420, buttons=["fullscreen"], elem_id="compare")
                    status = gr.Markdown("Pick a photo and a painting, then press **Paint**.",
                                         label="Status", elem_id="status")
                    with gr.Row():
                        download = gr.DownloadButton("Download PNG", visible=False, size="md",
                                                     elem_id="download")
                        refine_btn = gr.Button("Refine at 1.5× size", interactive=False, size="md",
                                               elem_id="refine")
                    # starts empty (None): a plot first given an empty table never draws its lines
                    # fixed colours named in the label: the plot's own legend falls below its frame
                    losses = gr.LinePlot(None, x="step", y="relative", color="term",
                                         color_map={"content": "#3b82f6", "style": "#f59e0b",
                                                    "total": "#ef4444"},
                                         y_title="loss / its peak", height=250,
                                         label="Losses, each relative to its peak: content (blue), "
                                               "style (amber), total (red)",
                                         y_lim=[0, 1.02], elem_id="losses")
        with gr.Tab("Explore"):
            explore_tab.build(content, style)

        api_inputs = [content, style, preset, style_2, style_3, *blend, ratio, *layer_w, content_layer,
                      init, pooling, optimizer, lr, steps, size, style_scale, colors, tv_weight, pyramid,
                      precision, seed]
        outputs = [live, status, losses, compare, download, refine_btn]
        run = dict(outputs=outputs, concurrency_limit=1, concurrency_id="device", show_progress="full",
                   show_progress_on=[live])
        swap = dict(queue=False, api_visibility="private")
        paint_btn.click(_arm_checked, [content, style], [live, compare], **swap).success(
            stylize, api_inputs, api_name="stylize", **run).success(_show_compare, None, live, **swap)
        refine_btn.click(_arm, None, [live, compare], **swap).then(
            refine, [download, *api_inputs], api_visibility="private", **run).success(
            _show_compare, None, live, **swap)
        # Stop reaches the engine's cancel Event, so the run ends with its best image; not an API.
        stop_btn.click(_stop, None, None, queue=False, api_visibility="private")
        for thumbs, target, files in ((content_thumbs, content, PHOTOS), (style_thumbs, style, STYLES)):
            thumbs.select(_picker(files), None, target, queue=False, api_visibility="private")
        preset.change(lambda: (0, 0), None, [steps, size], queue=False, api_visibility="private")
    return blocks


def _picker(files):
    def pick(evt: gr.SelectData):
        return str(files[evt.index])
    return pick


demo = build()
demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)


def _warm_up():
    """Load the weights and let the math libraries set up their kernels now, so a visitor's
    first frame is not the one that pays for it (about 2-3 s on a 2-core CPU)."""
    tiny = Image.new("RGB", (64, 48), (120, 90, 60))
    nst.run(tiny, tiny, nst.Settings(size=64, steps=2, pyramid=False))


def launch(**overrides):
    """Start the server with this app's limits; tests pass prevent_thread_lock etc."""
    share = "--share" in sys.argv or os.environ.get("GRADIO_SHARE", "").lower() in ("1", "true")
    kwargs = dict(max_file_size=MAX_FILE_SIZE, css=CSS, share=share or None,
                  theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="amber"))
    _warm_up()
    return demo.launch(**{**kwargs, **overrides})


if __name__ == "__main__":
    launch()

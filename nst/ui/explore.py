"""The "Explore" tab: what each VGG-19 layer sees (wiring only; the maths is in nst.explore).

Public API endpoints registered here: /reconstruct (streams frames), /figure (streams the
Figure-1 grid as it fills, ends with the whole grid), /ratio_row and /activations. Every
parameter is checked on the server by Settings.validate; a refusal is a sentence, shown in the
page as a toast and in the section's status line.
"""
from __future__ import annotations

import inspect
import re
import time
from functools import lru_cache

import gradio as gr
from PIL import Image

from .. import explore
from ..settings import LAYERS
from . import files, limits, refusals
from .contract import _number  # one parameter-to-number rule for every endpoint
from .examples import EXAMPLES as EXAMPLE_DIR
from .examples import PHOTOS, STYLES
from .image_input import image_input

EXAMPLES = PHOTOS + STYLES
DEFAULT_PAINTING = EXAMPLE_DIR / "styles" / "starry_night.jpg"  # Figure 1 and the α/β row without one
DEFAULT_PAINTING_LABEL = "Painting (empty: The Starry Night)"
IMAGE_TITLE = "Image to rebuild"  # the box at the top of the tab, which every section reads
IMAGE_NAME = "the image to rebuild, in the box at the top of this tab"
# A refusal for a missing image brings that box into view (it can be far above the button pressed).
SHOW_IMAGE_BOX = ("() => { if (!document.querySelector('#explore-image img')) document.getElementById("
                  "'explore-image').scrollIntoView({behavior: 'smooth', block: 'center'}); }")
DISPLAY_SIDE = 384  # px: a rebuild is shown enlarged to about this, so 128 px is not a thumbnail
LIMITS = limits.EXPLORE  # small pictures; the same wall-clock cap as every job (limits.MAX_SECONDS)
MAX_SIDE = 1024  # every view here works far below this size
MAX_CHANNELS = 32
# Time budgets, shared by a figure's cells: the steps are what this machine fits into them.
SECONDS = {"reconstruct": 10, "figure": 60, "ratio_row": 30}
RATIO_EXPONENTS = (-5, -4, -3, -2)  # log10(alpha/beta) of the ratio row, as in the paper's Fig. 3
RUN = dict(concurrency_limit=1, concurrency_id="device")  # one heavy job at a time, shared with Paint
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]

CONTENT_MD = r"""
**Content from one layer.** Starting from white noise $\vec x$, the pixels are changed until the
layer's responses $F^l$ match the photo's $P^l$:
$$\mathcal{L}_{content}(\vec p, \vec x, l) = \tfrac12 \sum_{i,j} \left(F^l_{ij} - P^l_{ij}\right)^2$$
Low layers pin down almost every pixel; high layers keep *what is where* and let the exact pixels go.

**Style from a set of layers.** The Gram matrix of a layer keeps which features occur together, not
where:
$$G^l_{ij} = \sum_k F^l_{ik} F^l_{jk}$$
$$E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{i,j} \left(G^l_{ij} - A^l_{ij}\right)^2$$
$$\mathcal{L}_{style} = \sum_l w_l E_l$$
With only conv1_1 the result is fine local texture; adding deeper layers adds larger structures.
"""
FIGURE_MD = r"""
**The paper's Figure 1**, on your pictures: top row, the content rebuilt from conv1_1, conv2_1,
conv3_1, conv4_1, conv5_1 alone; bottom row, the painting's style rebuilt from {conv1_1},
{conv1_1, conv2_1}, … up to conv5_1 (without a painting of yours: The Starry Night). Ten reconstructions
at 128 px share the time you give them (each gets as many L-BFGS steps as fit its share on this machine,
or the steps you set); the grid fills in as it goes.
"""
RATIO_MD = r"""
**Content against style.** Style transfer minimises both terms at once:
$$\mathcal{L}_{total}(\vec p, \vec a, \vec x) = \alpha\, \mathcal{L}_{content} + \beta\, \mathcal{L}_{style}$$
The paper used $\alpha/\beta = 10^{-3}$ or $10^{-4}$. A small ratio lets the painting's texture
take over; a large one gives back the photo. Each picture here starts from white noise, as in the
paper's Figure 3 (without a painting of yours: The Starry Night).
"""
ACTIVATIONS_MD = r"""
**What a layer responds to.** Each channel $k$ of a layer is a map
$$F^l_k = \max\left(0,\; W^l_k * F^{l-1} + b^l_k\right)$$
(bright = strong response). Below the maps, for a few channels, the patches of the example images
and yours that drive them hardest, each cut to exactly what that unit can see: its receptive
field, which grows by $(k-1)\,j$ at every layer (3×3 convolutions, 2×2 pools that double the
step $j$): 3 px at conv1_1, 24 px at conv3_1, 156 px at conv5_1. Expect colours and edges in
conv1, textures in conv3, object parts in conv5.
"""


# ---------------------------------------------------------------------------- checks
def _picture(name: str, path):
    return refusals.picture(name, path, max_side=MAX_SIDE)


def _settings(size, steps, seed=0, seconds=None):
    """Steps 0: as many as fit `seconds` (the job's budget, shared by a figure's cells)."""
    s = explore.recon_settings(size=_number("size", size), steps=_number("steps", steps) or None,
                               seed=_number("seed", seed), seconds=_number("seconds", seconds))
    return s.validate(limits=LIMITS)


def _said(s, t0: float) -> str:
    """What a finished job took, against what it was given."""
    took = f"{time.perf_counter() - t0:.0f} s"
    return f"{took} (budget {s.seconds:g} s)" if s.steps is None else took


@lru_cache(maxsize=1)
def _example_images():
    """The example pictures for the patch search, opened once per server, at the size it uses."""
    return tuple(refusals.picture("an example", p, max_side=2 * explore.PATCH_SIDE) for p in EXAMPLES)


def _shown(fn, n_outputs: int):
    """fn's ValueErrors as sentences where the visitor looks: the section's status line (the
    last output) and a toast."""
    def wrapped(*args, **kwargs):
        try:
            yield from fn(*args, **kwargs)
        except ValueError as e:
            said = "**Not rendered.** " + refusals.sentence(e)
            yield (*[gr.skip()] * (n_outputs - 1), said) if n_outputs > 1 else said
            raise refusals.refuse(e) from None
    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    wrapped.__signature__ = inspect.signature(fn)
    return wrapped


def _wire(button, fn, prepare, inputs, outputs, name: str, **kw):
    """Button -> a light check, queued beside the heavy jobs so that a refusal shows at once
    (an error raised outside Gradio's queue reaches the page as a bare "Error") -> the job,
    public as /`name`. Returns the job's event (for Stop)."""
    def check(*values):
        prepare(*values)  # a ValueError here is shown by _shown
        yield gr.skip()

    check = _shown(check, 1)
    checked = button.click(check, inputs, outputs[-1], concurrency_limit=None, show_progress="hidden",
                           api_visibility="private")
    checked.failure(None, js=SHOW_IMAGE_BOX, api_visibility="private")
    return checked.success(_shown(fn, len(outputs)), inputs, outputs, api_name=name, **kw, **RUN)


# ---------------------------------------------------------------------------- handlers
# Each job's checks live in its _prepare_* function: the job calls it, and so does the light
# check that runs the moment its button is pressed (see _wire).
def _layer(layer) -> str:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; VGG-19 layers are {', '.join(LAYERS)}")
    return layer


def _prepare_reconstruct(image, layer="conv4_2", mode="content", steps=0, size=128, seed=0,
                         seconds=SECONDS["reconstruct"]):
    if mode not in explore.MODES:
        raise ValueError(f"mode must be one of {', '.join(explore.MODES)}; got {mode!r}")
    return _picture(IMAGE_NAME, image), _layer(layer), _settings(size, steps, seed, seconds)


def reconstruct(image, layer: str = "conv4_2", mode: str = "content", steps: int = 0,
                size: int = 128, seed: int = 0, seconds: float = SECONDS["reconstruct"]):
    """Rebuild an image from white noise using only one layer's content, or the style (Gram
    matrices) of the layers up to one; streams (picture so far, status). steps 0: as many L-BFGS
    steps as fit `seconds` on this machine. The picture comes enlarged a whole number of times
    (each pixel a square block) to about 384 px; the status gives the size it was computed at."""
    img, layer, s = _prepare_reconstruct(image, layer, mode, steps, size, seed, seconds)
    what = (f"content from {layer}" if mode == "content"
            else "style from " + ", ".join(explore.style_layers_upto(layer)))
    with files.Shown() as show:
        for f in explore.reconstruct(img, layer, mode, s, limit=limits.MAX_SECONDS):
            left = f", {f.info.left:.0f} s left" if s.steps is None and not f.done else ""
            shown, scale = _enlarged(f.image)
            yield show(shown), (f"{'**Done**' if f.done else 'Rebuilding'} {what}: step {f.step} of {f.total}, "
                                f"loss {f.losses.get('total', float('nan')):.3g}, {f.elapsed:.1f} s{left}. "
                                f"{_computed_at(f.image, scale)}")


def _enlarged(image):
    """The picture enlarged a whole number of times to about DISPLAY_SIDE (nearest neighbour: no
    detail is made up), and that number."""
    k = max(1, DISPLAY_SIDE // max(image.size))
    return (image.resize((image.width * k, image.height * k), Image.NEAREST) if k > 1 else image), k


def _computed_at(image, scale: int) -> str:
    shown = f", shown {scale}× larger" if scale > 1 else ""
    return f"Computed at {image.width}×{image.height} px{shown}."


def _painting(style):
    """(the painting, whether the visitor gave it): without one, The Starry Night."""
    given = style not in (None, "")
    return _picture("the painting", style if given else DEFAULT_PAINTING), given


def _default_note(given: bool, where: str) -> str:
    return "" if given else f" No painting was given, so {where} uses the example The Starry Night."


def _prepare_figure(content, style=None, size=128, steps=0, seconds=SECONDS["figure"]):
    return (_picture(IMAGE_NAME, content), *_painting(style), _settings(size, steps, seconds=seconds))


def figure(content, style=None, size: int = 128, steps: int = 0, seconds: float = SECONDS["figure"],
           progress=gr.Progress()):
    """The paper's Figure 1 for these images; without a painting the style row uses The Starry
    Night (an example) and says so. Streams the grid as it fills and ends with the whole grid.
    steps 0: the ten cells share `seconds`, each taking as many steps as fit its share."""
    c, st, given, s = _prepare_figure(content, style, size, steps, seconds)
    note = _default_note(given, "the style row")
    t0 = time.perf_counter()
    with files.Shown() as show:
        for p in explore.figure1(c, st, s, started=t0, limit=limits.MAX_SECONDS):
            frac = (p.cell + (p.frame.step / p.frame.total if p.frame else 0)) / p.cells
            progress(1.0 if p.done else frac, desc=p.label)
            yield show(p.image), _figure_status(p, t0, s) + note


def _figure_status(p: explore.FigureProgress, t0: float, s) -> str:
    if p.done:
        return f"**Done**: {len(p.times)} reconstructions in {_said(s, t0)}."
    left = f", {max(0.0, s.seconds - (time.perf_counter() - t0)):.0f} s left" if s.steps is None else ""
    return f"Cell {p.cell + 1} of {p.cells}: {p.label}, step {p.frame.step} of {p.frame.total}{left}."


def _prepare_ratio_row(content, style=None, size=128, steps=0, seconds=SECONDS["ratio_row"]):
    return (_picture(IMAGE_NAME, content), *_painting(style), _settings(size, steps, seconds=seconds))


def ratio_row(content, style=None, size: int = 128, steps: int = 0, seconds: float = SECONDS["ratio_row"],
              progress=gr.Progress()):
    """The same photo and painting at alpha/beta = 1e-5 ... 1e-2, each from white noise; without
    a painting, The Starry Night (an example), and it says so. steps 0: the four cells share
    `seconds`."""
    c, st, given, s = _prepare_ratio_row(content, style, size, steps, seconds)
    note = _default_note(given, "the row")
    t0 = time.perf_counter()
    ratios = [10.0 ** e for e in RATIO_EXPONENTS]
    with files.Shown() as show:
        for p in explore.ratio_row(c, st, ratios, s, started=t0, limit=limits.MAX_SECONDS):
            progress(1.0 if p.done else (p.cell + 0.5) / p.cells, desc=p.label)
            yield show(p.image), _figure_status(p, t0, s) + note


def _prepare_activations(image, layer="conv3_1", channels=8):
    n = _number("channels", channels)
    if not (isinstance(n, int) and 1 <= n <= MAX_CHANNELS):
        raise ValueError(f"channels must be a whole number from 1 to {MAX_CHANNELS}, got {channels!r}")
    return _picture(IMAGE_NAME, image), _layer(layer), n


def activations(image, layer: str = "conv3_1", channels: int = 8):
    """The most active channels of a layer as heat maps, and for four of them the patches of the
    example images and this one that drive them hardest."""
    img, layer, n = _prepare_activations(image, layer, channels)
    maps = explore.activation_maps(img, layer, n)
    found = explore.top_patches([img, *_example_images()], layer, n_channels=4)
    with files.Shown() as show:
        *pictures, grid = show.many([*(im for im, _ in maps), explore.patches_grid(layer, found)], "png")
        yield list(zip(pictures, (_short(c) for _, c in maps))), grid, f"**Done**: {layer}, {n} channels."


def _short(caption: str) -> str:
    """'conv3_1 channel 12: mean 0.5, max 3.1' -> 'channel 12 · max 3.1' (fits under a thumbnail)."""
    m = re.match(r"\S+ channel (\d+): mean \S+, max (\S+)", caption)
    return f"channel {m[1]} · max {m[2]}" if m else caption.replace("input ", "your image ")


# ---------------------------------------------------------------------------- layout
def build(content=None, style=None):
    """Called inside `with gr.Tab("Explore")`. `content`/`style`: the Paint tab's image inputs,
    if given, for the "use the current photo/painting" buttons."""
    gr.Markdown("## What VGG-19 sees\nGatys et al. found that a trained network keeps content and "
                "style apart. Rebuild a picture from one layer at a time and see for yourself.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=280):
            image = _titled(image_input, IMAGE_TITLE, height=220, sources=["upload", "clipboard"],
                            elem_id="explore-image")
            gr.Examples([[str(p)] for p in EXAMPLES], [image], label="Examples", examples_per_page=13)
            _copy_buttons(content, style, image)
        with gr.Column(scale=4, min_width=280):
            gr.Markdown(CONTENT_MD, latex_delimiters=LATEX)
    # the controls and the button beside the picture they make, so it is in view when pressed
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=280):
            mode = gr.Radio([("content from layer …", "content"), ("style from layers up to …", "style")],
                            value="content", label="Rebuild", elem_id="explore-mode")
            layer = gr.Dropdown(list(LAYERS), value="conv4_2", label="Layer", elem_id="explore-layer")
            with gr.Row():
                steps = gr.Slider(0, LIMITS.max_steps, 0, step=1, label="L-BFGS steps (0 = what the time allows)",
                                  min_width=120, elem_id="explore-steps")
                seconds = gr.Slider(1, 60, SECONDS["reconstruct"], step=1, label="Seconds", min_width=120)
                size = gr.Slider(LIMITS.min_size, LIMITS.max_size, 128, step=16, label="Size, px", min_width=120)
                seed = gr.Number(0, label="Noise seed", precision=0, minimum=0, maximum=LIMITS.max_seed,
                                 min_width=90)
            with gr.Row():
                go = gr.Button("Rebuild", variant="primary", elem_id="explore-go")
                stop = gr.Button("Stop", variant="stop")
        with gr.Column(scale=4, min_width=280):
            recon = _titled(gr.Image, "Reconstruction", format="jpeg", interactive=False,
                            height=DISPLAY_SIDE + 16, elem_id="explore-out")
            recon_status = gr.Markdown("", elem_id="explore-status")
    job = _wire(go, reconstruct, _prepare_reconstruct, [image, layer, mode, steps, size, seed, seconds],
                [recon, recon_status], "reconstruct", show_progress="minimal")
    stop.click(None, None, None, cancels=[job], api_visibility="private")

    _grid_section(figure, _prepare_figure, "figure", image, FIGURE_MD, "Render Figure 1", "Figure 1")
    _grid_section(ratio_row, _prepare_ratio_row, "ratio_row", image, RATIO_MD, "Render α/β = 1e-5 … 1e-2",
                  "α/β row")

    gr.Markdown("---")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=240):
            gr.Markdown(ACTIVATIONS_MD, latex_delimiters=LATEX)
            a_layer = gr.Dropdown(list(LAYERS), value="conv3_1", label="Layer", elem_id="act-layer")
            a_n = gr.Slider(1, MAX_CHANNELS, 8, step=1, label="Channels to show", elem_id="act-channels")
            a_go = gr.Button("Show what this layer sees", variant="primary", elem_id="act-go")
            a_status = gr.Markdown("", elem_id="act-status")
        with gr.Column(scale=8, min_width=320):
            maps = _titled(gr.Gallery, "Most active channels (first: the image being rebuilt)", columns=3,
                           height="auto", format="jpeg", elem_id="act-maps", elem_classes="captions")
            patches = _titled(gr.Image, "Top-activating patches (rows: channels)", format="png",
                              interactive=False, elem_id="act-patches")
    _wire(a_go, activations, _prepare_activations, [image, a_layer, a_n], [maps, patches, a_status],
          "activations")


def _grid_section(fn, prepare, name: str, image, md: str, button: str, out_label: str):
    """A figure that renders cell by cell: the explanation, a painting (The Starry Night without
    one), size and steps, a button, and the grid streaming in below them at the page's whole
    width (its cells shown larger than they are painted); registered as /`name`."""
    gr.Markdown("---")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=280):
            gr.Markdown(md, latex_delimiters=LATEX)
        with gr.Column(scale=3, min_width=200):
            second = _titled(image_input, DEFAULT_PAINTING_LABEL, height=160, sources=["upload", "clipboard"],
                             elem_id=f"{name}-image")
        with gr.Column(scale=4, min_width=240):
            size = gr.Slider(LIMITS.min_size, LIMITS.max_size, 128, step=16, label="Cell size, px",
                             elem_id=f"{name}-size")
            steps = gr.Slider(0, LIMITS.max_steps, 0, step=1, label="Steps per cell (0 = what the time allows)",
                              elem_id=f"{name}-steps")
            seconds = gr.Slider(5, limits.MAX_SECONDS, SECONDS[name], step=5, label="Seconds in all")
            go = gr.Button(button, variant="primary", elem_id=f"{name}-go")
            status = gr.Markdown("", elem_id=f"{name}-status")
    out = _titled(gr.Image, out_label, format="jpeg", interactive=False, elem_id=f"{name}-out",
                  elem_classes="explore-grid")
    _wire(go, fn, prepare, [image, second, size, steps, seconds], [out, status], name, show_progress="full",
          show_progress_on=[out])


def _titled(component, title: str, **kwargs):
    """`component` with its title above it: Gradio's own label floats over the picture's top-left
    corner. The label is kept for screen readers and the API page."""
    gr.Markdown(f"**{title}**", elem_classes="caption")
    return component(label=title, show_label=False, **kwargs)


def _copy_buttons(content, style, target):
    """'Use the current photo / painting' buttons, when the Paint tab's inputs were passed in."""
    pairs = [(c, label) for c, label in ((content, "Use the current photo"),
                                         (style, "Use the current painting")) if c is not None]
    if not pairs:
        return
    with gr.Row():
        for source, label in pairs:
            gr.Button(label, size="sm").click(lambda v: v, source, target, queue=False,
                                              api_visibility="private")

"""The /stylize contract: `stylize` is the public endpoint, its parameters become Settings here,
and Settings.validate (with the server's Limits) is the only place that checks them."""
from __future__ import annotations

import inspect
import math
import time

import gradio as gr

from .. import images, masks
from ..budget import check_budget
from ..intake import FORMAT_NAMES
from ..settings import COLORS, INITS, LAYERS, OPTIMIZERS, POOLINGS, PRECISIONS, PRESETS, STYLE_LAYERS, Settings, preset
from . import limits, refusals
from .stream import paint_run
_D = Settings()  # the library's defaults, shown by the widgets and the API alike
THIN = 2.0  # long/short above this: a thin picture gets the pixel count of a square of its size


def _number(name: str, v) -> float:
    """A parameter as a number (the range is Settings.validate's business); a whole number comes
    back as an int. inf and nan are refused here: int() of them raises OverflowError."""
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return int(x) if x == int(x) else x


def _power_of_ten(name: str, v) -> float:
    """10 ** v for a log10 parameter; one too large for a float is refused as a sentence (the
    range itself is Settings.validate's business)."""
    x = _number(name, v)
    try:
        return 10.0 ** x
    except OverflowError:
        raise ValueError(f"{name} must be from -8 to 2, got {x:g}") from None


def _size_for(size: int, wh: tuple[int, int]) -> tuple[int, str]:
    """A very wide or tall picture keeps the pixel count of a square of `size` (never a sliver);
    the note says so."""
    w, h = wh
    aspect = max(w, h) / min(w, h)
    if aspect <= THIN:
        return size, ""
    grown = min(limits.LIMITS.max_size, int(size * math.sqrt(aspect)))
    if grown <= size:
        return size, ""
    out = images.fit_size(w, h, grown)
    return grown, (f"This picture is {aspect:.1f} times as wide as it is tall, so it is painted at "
                   f"{out[0]}×{out[1]} px (about the pixels of a {size}×{size} square) rather than "
                   f"as a thin strip." if w > h else
                   f"This picture is {aspect:.1f} times as tall as it is wide, so it is painted at "
                   f"{out[0]}×{out[1]} px (about the pixels of a {size}×{size} square) rather than "
                   f"as a thin strip.")


def inputs(p: dict, max_side: int = limits.WORK_SIDE):
    """(photo, paintings, Settings, note, mask) from the endpoint's parameters; ValueError (a
    sentence) for anything refused."""
    content = refusals.picture("the photo", p["content"], max_side=max_side)
    slots = [("the painting", p["style"], p["blend_1"], True),
             ("the second painting", p["style_2"], p["blend_2"], False),
             ("the third painting", p["style_3"], p["blend_3"], False)]
    styles, blend = [], []
    for name, path, weight, required in slots:  # each painting keeps its own slot's weight
        img = refusals.picture(name, path, required, max_side)
        if img is not None:
            styles.append(img)
            blend.append(_number(f"the weight of {name}", weight))
    if p["preset"] not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {p['preset']!r}")
    s = preset(p["preset"])
    size = _number("size", p["size"]) or None  # 0: planned for the budget
    note = ""
    if isinstance(size, int):
        size, note = _size_for(size, content.size)
    elif max(content.size) / min(content.size) > THIN:  # the planner counts pixels, not the side
        w, h = content.size
        note = (f"This picture is {max(w, h) / min(w, h):.1f} times as {'wide' if w > h else 'tall'} "
                f"as it is {'tall' if w > h else 'wide'}, so it is painted with about the pixels of "
                f"a square picture of the same budget rather than as a thin strip.")
    w = {l: _number(f"the weight of {l}", p[f"w_{l}"]) for l in STYLE_LAYERS}
    s = s.replace(
        size=size, steps=_number("steps", p["steps"]) or None, seed=_number("seed", p["seed"]),
        seconds=_number("seconds", p["seconds"]) or s.seconds,
        optimizer=p["optimizer"], lr=_number("lr", p["lr"]), init=p["init"], pooling=p["pooling"],
        content_weight=_power_of_ten("ratio_exp", p["ratio_exp"]), style_weight=1.0,
        content_layers=(p["content_layer"],),
        # every style layer stays in the run, weight 0 included, so a slider can raise it mid-run
        style_layers=STYLE_LAYERS, layer_weights=tuple(w.values()),
        style_blend=tuple(blend) if len(styles) > 1 else None,
        style_scale=_number("style_scale", p["style_scale"]), tv_weight=_number("tv_weight", p["tv_weight"]),
        pyramid=bool(p["pyramid"]), colors=p["colors"], precision=p["precision"],
        frame_every=1_000_000, frame_seconds=limits.FRAME_SECONDS, mask_mode=p["mask_mode"])
    if len(styles) == 1 and blend[0] <= 0:
        raise ValueError("give the painting a weight above 0")
    if not any(w.values()):
        raise ValueError("give at least one style layer (a scale of the painting) a weight above 0")
    s.validate(n_styles=len(styles), limits=limits.LIMITS)
    if not limits.ON_ZEROGPU:  # there the run's GPU is not this process's device
        try:
            check_budget(s, content.size, max_size=limits.LIMITS.max_size, measure=False)
        except ValueError as e:  # the page gives seconds by its presets
            raise ValueError(f"{e} A longer preset gives more seconds.") from None
        if s.size is None and s.steps is None and s.seconds == PRESETS[p["preset"]]:
            # the size the preset's label promises for this photo: the same plan, the same seconds
            s = s.replace(size=limits.planned(p["preset"], content.size, s).size)
    mask = None
    if p["mask"] not in (None, ""):
        mask = masks.open_mask(p["mask"])
        masks.check(mask, content.size, s.mask_mode, len(styles))
    return content, styles, s, note, mask


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
            mask: str | None = None, mask_mode: str = _D.mask_mode, seconds: float = 0,
            request: gr.Request = None):
    """__DOC__"""
    started = time.perf_counter()  # the budget counts from here: decoding the uploads included
    params = {k: v for k, v in locals().items() if k not in ("request", "started")}
    try:
        content_img, styles, s, note, mask_img = inputs(params)
    except ValueError as e:
        raise refusals.refuse(e) from None
    yield from paint_run(content_img, styles, s, request, note, mask=mask_img, started=started)


API_PARAMS = [p for p in inspect.signature(stylize).parameters if p != "request"]
API_DEFAULTS = {p: inspect.signature(stylize).parameters[p].default for p in API_PARAMS}


def _doc() -> str:
    """stylize's docstring with this machine's real limits: Gradio's API page shows its first
    paragraph as the description, each Args line beside its parameter, each Returns line as one
    item."""
    lim = limits.LIMITS
    presets = ", ".join(f"'{n}' {t:g} s (here about {limits.planned(n).size} px for a 3:2 photo)"
                        for n, t in PRESETS.items())
    return f"""Paint a photo in the style of a painting (Gatys, Ecker & Bethge 2015), streaming the picture as it is painted. Only content and style are required. Every other parameter has a default and is checked on this server; a refusal is an error whose message says what to change. A run ends when its time budget (the preset's, or seconds) says, with the size and steps this machine can fill it with; no run goes past {limits.MAX_SECONDS:.0f} s.

    Args:
        content: the photo: {FORMAT_NAMES}, up to {limits.MAX_FILE_MB} MB and 64 megapixels.
        style: the painting (same formats).
        preset: the time budget from the request to the final picture: {presets}, planned for this machine's {'GPU' if limits.GPU else 'CPU'}.
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
        steps: 0 = as many as the budget holds, else 1 to {lim.max_steps}: a fixed-length run, the same picture for the same seed (the budget then only chooses the size).
        size: long side in px; 0 = the largest the budget paints well, else {lim.min_size} to {lim.max_size}. A picture more than {THIN:g} times as wide as tall (or tall as wide) gets the pixel count of a size × size square.
        style_scale: the painting's size relative to the picture (brush size), {lim.style_scale[0]:g} to {lim.style_scale[1]:g}.
        colors: {' | '.join(COLORS)}; luminance and histogram keep the photo's colours.
        tv_weight: total-variation smoothing, 0 to {lim.max_tv_weight:g}.
        pyramid: paint coarse to fine (faster).
        precision: {' | '.join(PRECISIONS)}.
        seed: for the noise start, 0 to {lim.max_seed}.
        mask: optional image marking where the painting goes (white, or opaque on a transparent layer = inside), drawn at the photo's proportions (Gatys et al. 2017, spatial control).
        mask_mode: inside (the painting inside the mask, the photo itself outside) | split (painting 1 inside, painting 2 = style_2 outside).
        seconds: the time budget in seconds, 0 = the preset's; up to {limits.MAX_SECONDS:.0f}. A size, or steps, that this machine's measured speed says the budget cannot hold is refused before the run, in words.

    Returns:
        image: the picture so far, about three times a second; the last one is the best.
        status: size, step and time left (markdown); "Done" or "Stopped" at the end, with the size, steps and level plan taken (to repeat the run: size, steps, seed).
        details: pyramid level, seconds per step, device, arithmetic and optimiser.
        losses: the loss chart (a Vega-Lite spec).
        before/after: the photo and the result (last update only).
        PNG: the full-size result as a file (last update only).
        refine: the page's Refine button state.
        time-lapse: an animated WebP of the run, the final picture held at the end (last update only).
        time-lapse file: the same WebP as a file to download (last update only).
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

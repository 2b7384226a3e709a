"""What VGG-19 sees: the paper's Figure 1 and 2 experiments, activation maps, top-activating patches.

Reconstructions reuse `stylize()` with one of the two loss terms switched off: content from a
single layer (beta = 0) or style from a set of layers (alpha = 0), starting from white noise. The
image whose loss is switched off only lends its size and the starting noise, so the frames, the
cancel Event and the final best image are exactly those of a style-transfer run.
"""
from __future__ import annotations

import importlib.util
import math
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from . import images
from .engine import Frame, stylize
from .speed import resolve_device
from .settings import LAYERS, STYLE_LAYERS, Settings
from .vgg import POOL_AFTER, load_vgg

MODES = ("content", "style")
FIGURE_LAYERS = STYLE_LAYERS  # the paper's Figure 1 columns: conv1_1 ... conv5_1
RATIOS = (1e-5, 1e-4, 1e-3, 1e-2)  # alpha/beta, the columns of the paper's Figure 3
# White noise of small amplitude around mid-grey. The network is blind to some fine patterns
# (its null space); whatever of them the start holds stays in the result, so full-range noise
# leaves a grainy veil over every reconstruction. +-10 grey levels keeps that veil faint.
NOISE_AMPLITUDE = 10.0
PATCH_SIDE = 224  # px: images are searched for top patches at ImageNet's training size
# Captions need alpha and beta, which Pillow's built-in font lacks (they drew as boxes): DejaVu Sans
# from Debian's fonts-dejavu-core, else the copy inside matplotlib if that is installed.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
GREEK = "αβ"
NOT_A_CHARACTER = "\U0010fffd"  # private use, in no font: what it draws is the missing-glyph box


def recon_settings(**changes) -> Settings:
    """Defaults for reconstructions: a single 128 px scale and the paper's L-BFGS in fp32.

    At this size L-BFGS reaches a far lower loss than Adam in the same steps (measured: content
    from conv1_1 after 100 steps is within 4.5 grey levels of the photo, Adam's within 31), and
    its line search needs fp32 (under bf16 it diverged). No grain cap: a reconstruction shows
    what a layer keeps, the paper's objective alone."""
    base = Settings(size=128, steps=100, optimizer="lbfgs", precision="fp32", pyramid=False,
                    frame_every=10, grain=None)
    return base.replace(**changes)


def style_layers_upto(layer: str) -> tuple:
    """The style layers of a growing set: conv1_1, conv2_1, ... before `layer`, then `layer`.
    For convB_1 this is the paper's Figure 1 set ({conv1_1}, {conv1_1, conv2_1}, ...)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; VGG-19 layers are {', '.join(LAYERS)}")
    i = LAYERS.index(layer)
    return tuple(l for l in STYLE_LAYERS if LAYERS.index(l) < i) + (layer,)


def noise_image(size_wh: tuple[int, int], seed: int = 0,
                amplitude: float = NOISE_AMPLITUDE) -> Image.Image:
    """White (uniform, independent per pixel and channel) noise around mid-grey."""
    rng = np.random.default_rng(seed)
    w, h = size_wh
    a = 127.5 + amplitude * (rng.random((h, w, 3)) * 2 - 1)
    return Image.fromarray(a.round().clip(0, 255).astype(np.uint8), "RGB")


def _fitted(image: Image.Image, size: int) -> Image.Image:
    w, h = images.fit_size(*image.size, size)
    return image.convert("RGB").resize((w, h), Image.LANCZOS)


def reconstruct(image: Image.Image, layer: str, mode: str = "content",
                settings: Settings | None = None, *, cancel: threading.Event | None = None,
                started: float | None = None, limit: float | None = None) -> Iterator[Frame]:
    """Rebuild `image` from white noise using what VGG-19 keeps of it at `layer`.

    mode 'content': minimise L_content at `layer` alone (beta = 0): the picture the layer's
    activations F^l pin down. mode 'style': minimise L_style over style_layers_upto(layer)
    (alpha = 0): a texture with the same Gram matrices, all spatial layout thrown away.
    Yields Frames as stylize() does; the last has done=True and the best image. `started` and
    `limit` cap the wall clock as stylize()'s do (a figure's cells share one cap)."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'content' or 'style'; got {mode!r}")
    s = settings or recon_settings()
    target = _fitted(image, s.size)
    noise = noise_image(target.size, s.seed)
    if mode == "content":
        s = s.replace(content_weight=1.0, style_weight=0.0, content_layers=(layer,),
                      init="style", layer_weights=None)  # 'style' here is the noise: beta = 0
        return stylize(target, noise, s, cancel=cancel, started=started, limit=limit)
    s = s.replace(content_weight=0.0, style_weight=1.0, style_layers=style_layers_upto(layer),
                  init="content", layer_weights=None)  # 'content' here is the noise: alpha = 0
    return stylize(noise, target, s, cancel=cancel, started=started, limit=limit)


# ---------------------------------------------------------------------------- figures
@dataclass
class FigureProgress:
    """One update of a figure being rendered: the grid so far and where the work stands."""

    image: Image.Image  # the whole grid; cells not yet started are blank
    cell: int  # index of the cell being worked on (0-based)
    cells: int  # cells in all
    label: str  # what that cell shows, e.g. "content from conv3_1"
    frame: Frame | None = None  # the cell's latest frame
    done: bool = False  # True on the last update, when every cell is finished
    times: list = field(default_factory=list)  # seconds each finished cell took


def _font_files() -> list[Path]:
    """Where DejaVu Sans may be, best first; finding matplotlib's copy does not import it."""
    spec = importlib.util.find_spec("matplotlib")
    shipped = spec.submodule_search_locations if spec and spec.submodule_search_locations else []
    return [DEJAVU, *(Path(p) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf" for p in shipped)]


@lru_cache(maxsize=None)
def _font(px: int):
    """The first font found that draws alpha and beta, else Pillow's own (captions then spell
    them out, see ratio_caption)."""
    for path in _font_files():
        font = _truetype(path, px)
        if font is not None and has_glyphs(font, GREEK):
            return font
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _truetype(path: Path, px: int):
    try:
        return ImageFont.truetype(str(path), px)
    except OSError:  # missing or unreadable
        return None


def has_glyphs(font, text: str) -> bool:
    """Whether `font` draws every character of `text` as itself, not as its missing-glyph box."""
    try:
        missing = _ink(font, NOT_A_CHARACTER)
        return all(_ink(font, ch) != missing for ch in text)
    except UnicodeError:  # a bitmap font takes Latin-1 only
        return False


def _ink(font, text: str) -> tuple:
    """The size and pixels of `text` drawn in `font`."""
    _, _, right, bottom = font.getbbox(text)
    im = Image.new("L", (max(1, right), max(1, bottom)))
    ImageDraw.Draw(im).text((0, 0), text, font=font, fill=255)
    return im.size, im.tobytes()


def ratio_caption(ratio: float, font) -> str:
    """'α/β = 0.001', or 'alpha/beta = 0.001' in a font without Greek letters (never boxes)."""
    return f"{'α/β' if has_glyphs(font, GREEK) else 'alpha/beta'} = {ratio:g}"


class _Grid:
    """Rows of square cells, each image centred in its cell with a caption under it."""

    def __init__(self, cols: int, cell: int, heights: Sequence[int], pad: int = 4, caption: int = 16):
        """`cols` cells of width `cell` per row; row r is heights[r] px tall (plus its caption)."""
        self.cell, self.pad, self.caption, self.heights = cell, pad, caption, list(heights)
        self.tops = [pad + sum(h + caption + pad for h in self.heights[:r]) for r in range(len(heights))]
        size = (cols * (cell + pad) + pad, pad + sum(h + caption + pad for h in self.heights))
        self.canvas = Image.new("RGB", size, "white")
        self.px = max(9, caption - 5)
        self.font = _font(self.px)

    def put(self, row: int, col: int, image: Image.Image | None, caption: str = ""):
        x0, y0, h = self.pad + col * (self.cell + self.pad), self.tops[row], self.heights[row]
        draw = ImageDraw.Draw(self.canvas)
        draw.rectangle([x0, y0, x0 + self.cell - 1, y0 + h + self.caption - 1], fill="white")
        if image is not None:
            im = image.copy()
            im.thumbnail((self.cell, h), Image.LANCZOS)
            self.canvas.paste(im, (x0 + (self.cell - im.width) // 2, y0 + (h - im.height) // 2))
        if caption:
            draw.text((x0 + self.cell // 2, y0 + h + self.caption // 2), caption,
                      fill="black", font=self._fitting(caption), anchor="mm")

    def _fitting(self, text: str):
        """The grid's font, smaller where `text` is wider than a cell: small cells' captions
        would run into each other."""
        px = self.px
        while px > 6 and _font(px).getlength(text) > self.cell:
            px -= 1
        return _font(px)

    def snapshot(self) -> Image.Image:
        return self.canvas.copy()


def per_cell(s: Settings, cells: int) -> Settings:
    """A figure's budget (s.seconds, steps not given) shared evenly by its cells."""
    return s.replace(seconds=s.seconds / cells) if s.seconds is not None and s.steps is None else s


def _render(grid: _Grid, jobs: list, cancel: threading.Event | None, started: float | None = None,
            limit: float | None = None) -> Iterator[FigureProgress]:
    """Run jobs [(row, col, label, caption, frames_fn)] one after the other, painting each
    cell's frames into the grid as they come; a cell that would start past the `limit` (seconds
    from `started`) is left blank."""
    times = []
    frame = None
    for k, (row, col, label, caption, frames_fn) in enumerate(jobs):
        if limit is not None and time.perf_counter() - started >= limit:
            break
        frame = None
        for frame in frames_fn():
            grid.put(row, col, frame.image, caption)
            yield FigureProgress(grid.snapshot(), k, len(jobs), label, frame, times=list(times))
        times.append(frame.elapsed if frame else 0.0)
        if cancel is not None and cancel.is_set():
            break
    yield FigureProgress(grid.snapshot(), len(jobs) - 1, len(jobs), "finished", frame, done=True,
                         times=times)


def figure1(content: Image.Image, style: Image.Image | None = None,
            settings: Settings | None = None, *, layers: Sequence[str] = FIGURE_LAYERS,
            cancel: threading.Event | None = None, started: float | None = None,
            limit: float | None = None) -> Iterator[FigureProgress]:
    """The paper's Figure 1: top row, `content` rebuilt from each of `layers` alone; bottom row,
    `style` (default: `content`) rebuilt from the growing sets {conv1_1}, {conv1_1, conv2_1}, ...
    The first column shows the originals. Yields FigureProgress after every frame of every cell.
    A budget (settings.seconds without steps) is shared by the cells; `started` and `limit` cap
    the whole figure's wall clock."""
    started = time.perf_counter() if started is None else started
    s = per_cell(settings or recon_settings(), 2 * len(layers))
    style = content if style is None else style
    c, st = _fitted(content, s.size), _fitted(style, s.size)
    grid = _Grid(len(layers) + 1, s.size, (c.height, st.height))
    grid.put(0, 0, c, "content image")
    grid.put(1, 0, st, "style image")
    jobs = []
    for row, (mode, img) in enumerate((("content", content), ("style", style))):
        for col, layer in enumerate(layers, start=1):
            caption = layer if mode == "content" else _set_caption(style_layers_upto(layer))
            jobs.append((row, col, f"{mode} from {caption}", caption,
                         lambda m=mode, i=img, l=layer: reconstruct(i, l, m, s, cancel=cancel,
                                                                    started=started, limit=limit)))
    yield from _render(grid, jobs, cancel, started, limit)


def _set_caption(layers: Sequence[str]) -> str:
    return layers[0] if len(layers) == 1 else f"{layers[0]}..{layers[-1]}"


def ratio_row(content: Image.Image, style: Image.Image, ratios: Sequence[float] = RATIOS,
              settings: Settings | None = None, *, cancel: threading.Event | None = None,
              started: float | None = None, limit: float | None = None) -> Iterator[FigureProgress]:
    """The paper's Figure 3 (one row): `content` painted in `style` from white noise for each
    alpha/beta in `ratios`, with the paper's layers. Low ratios give texture, high ones the photo.
    A budget (settings.seconds without steps) is shared by the cells; `started` and `limit` cap
    the row's wall clock."""
    started = time.perf_counter() if started is None else started
    s = per_cell(settings or recon_settings(), len(ratios)).replace(init="noise", layer_weights=None)
    c, st = _fitted(content, s.size), _fitted(style, s.size)
    grid = _Grid(len(ratios) + 2, s.size, (c.height,))
    grid.put(0, 0, c, "content")
    grid.put(0, 1, st, "style")
    jobs = [(0, col, f"alpha/beta = {r:g}", ratio_caption(r, grid.font),
             lambda r=r: stylize(content, style, s.replace(content_weight=r, style_weight=1.0),
                                 cancel=cancel, started=started, limit=limit))
            for col, r in enumerate(ratios, start=2)]
    yield from _render(grid, jobs, cancel, started, limit)


# ---------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class ReceptiveField:
    """Where a unit of a layer looks in the input: unit (i, j) sees the square of side `size`
    centred on pixel coordinates (start + i * jump, start + j * jump) (pixel k spans [k, k+1))."""

    size: int
    jump: int
    start: float

    def box(self, i: int, j: int, hw: tuple[int, int]) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels, clipped to an image of height/width hw."""
        cy, cx, r = self.start + i * self.jump, self.start + j * self.jump, self.size / 2
        return (max(0, math.floor(cx - r)), max(0, math.floor(cy - r)),
                min(hw[1], math.ceil(cx + r)), min(hw[0], math.ceil(cy + r)))


def receptive_field(layer: str) -> ReceptiveField:
    """Receptive field of `layer` from the VGG architecture: 3x3 convs with stride 1 and padding 1
    grow it by 2 jumps; 2x2 pools with stride 2 grow it by 1 jump, double the jump and shift the
    first centre by half a jump (r_out = r_in + (k - 1) * j_in, j_out = s * j_in)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; VGG-19 layers are {', '.join(LAYERS)}")
    size, jump, start = 1, 1, 0.5
    for name in LAYERS:
        size += 2 * jump
        if name == layer:
            return ReceptiveField(size, jump, start)
        if name in POOL_AFTER:
            size, start, jump = size + jump, start + jump / 2, jump * 2


def _net(settings: Settings):
    return load_vgg(settings.weights, str(resolve_device(settings.device)), False)


@torch.no_grad()
def layer_features(image: Image.Image, layer: str, pooling: str = "max",
                   settings: Settings | None = None) -> torch.Tensor:
    """F^l of `image` at `layer`, shape (N_l, H_l, W_l), fp32 on the CPU. Max pooling by default:
    the network as it was trained, which is what the course notes' visualisations look at."""
    s = settings or Settings()
    net = _net(s)
    x = images.to_tensor(image).to(next(net.parameters()).device)
    return net(x, (layer,), pooling)[layer][0].float().cpu()


def _colormap(a: np.ndarray) -> np.ndarray:
    """0..1 -> RGB uint8 along black - purple - orange - pale yellow (a 'magma'-like ramp)."""
    stops = np.array([[0, 0, 4], [80, 18, 123], [183, 55, 121], [252, 137, 97], [252, 253, 191]], float)
    t = np.clip(a, 0, 1) * (len(stops) - 1)
    i = np.minimum(t.astype(int), len(stops) - 2)
    f = (t - i)[..., None]
    return ((1 - f) * stops[i] + f * stops[i + 1]).astype(np.uint8)


def activation_maps(image: Image.Image, layer: str, n: int = 8, size: int = PATCH_SIDE,
                    settings: Settings | None = None) -> list[tuple[Image.Image, str]]:
    """The `n` most active channels of `layer` for `image` (by mean activation), each as a
    heat-map image of the map F^l_k (0 = black, the channel's maximum = pale yellow), enlarged to
    the input's size, with a caption. The first entry is the input itself."""
    img = _fitted(image, size)
    F = layer_features(img, layer, settings=settings)
    means = F.mean((1, 2))
    order = torch.argsort(means, descending=True)[:n].tolist()
    out = [(img, f"input ({img.width}x{img.height})")]
    for k in order:
        a = F[k].numpy()
        heat = Image.fromarray(_colormap(a / max(float(a.max()), 1e-6)), "RGB")
        out.append((heat.resize(img.size, Image.NEAREST),
                    f"{layer} channel {k}: mean {means[k]:.3g}, max {a.max():.3g}"))
    return out


@dataclass
class Patch:
    image: Image.Image  # the crop of the source image that the unit sees
    score: float  # the unit's activation
    source: int  # index into the images searched
    box: tuple  # (left, top, right, bottom) in the source image, as searched (PATCH_SIDE px)


def top_patches(sources: Sequence[Image.Image], layer: str, channels: Sequence[int] | None = None,
                n_channels: int = 4, per_channel: int = 6, per_image: int = 2,
                settings: Settings | None = None) -> dict[int, list[Patch]]:
    """For each channel of `layer`, the image patches that drive it hardest: every unit
    position is a candidate, the strongest `per_channel` win (at most `per_image` from one image,
    and never two overlapping peaks: only local maxima of the map count), and each is cut to that
    unit's receptive field. `channels` None: the `n_channels` channels with the highest peak.
    Returns {channel: [Patch, ...]} strongest first."""
    rf = receptive_field(layer)
    fitted = [_fitted(im, PATCH_SIDE) for im in sources]
    if not fitted:
        raise ValueError("top_patches needs at least one image")
    feats = [layer_features(im, layer, settings=settings) for im in fitted]
    n_l = feats[0].shape[0]
    if channels is None:
        peaks = torch.stack([f.amax((1, 2)) for f in feats]).amax(0)
        channels = torch.argsort(peaks, descending=True)[:n_channels].tolist()
    bad = [c for c in channels if not 0 <= c < n_l]
    if bad:
        raise ValueError(f"{layer} has channels 0 to {n_l - 1}; got {bad[0]}")
    result = {}
    for c in channels:
        found = []
        for src, F in enumerate(feats):
            m = F[c]
            # local maxima only, so one blob does not fill the list with its neighbours
            peak = m == torch.nn.functional.max_pool2d(m[None, None], 3, 1, 1)[0, 0]
            vals = torch.where(peak & (m > 0), m, torch.zeros_like(m)).flatten()
            top = torch.topk(vals, min(per_image, vals.numel()))
            for v, idx in zip(top.values.tolist(), top.indices.tolist()):
                if v > 0:
                    i, j = divmod(idx, m.shape[1])
                    box = rf.box(i, j, (fitted[src].height, fitted[src].width))
                    found.append(Patch(fitted[src].crop(box), v, src, box))
        result[c] = sorted(found, key=lambda p: -p.score)[:per_channel]
    return result


def patches_grid(layer: str, found: dict[int, list[Patch]], cell: int = 72) -> Image.Image:
    """One row per channel: its top patches, each enlarged to `cell` px (pixels kept sharp)."""
    cols = max([len(p) for p in found.values()] + [1])
    grid = _Grid(cols + 1, cell, [cell] * max(1, len(found)), caption=14)
    for row, (c, patches) in enumerate(found.items()):
        ImageDraw.Draw(grid.canvas).text(
            (grid.pad + cell // 2, grid.tops[row] + cell // 2),
            f"{layer}\nchannel {c}", fill="black", font=grid.font, anchor="mm", align="center")
        for col, p in enumerate(patches, start=1):
            grid.put(row, col, p.image.resize((cell, cell), Image.NEAREST), f"{p.score:.3g}")
    return grid.snapshot()

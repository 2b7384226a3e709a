"""The yardstick: the paper's L_content and L_style of any finished picture, in fp32, whatever
arithmetic painted it. The tests, the CLI's closing line and the benchmarks compare runs by it."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from . import images
from .losses import grain
from .objective import Objective, at_least, blend_weights, min_side, painting_grain
from .settings import Settings
from .speed import resolve_device
from .vgg import load_vgg


def paper_losses(image, content: Image.Image, styles, settings: Settings | None = None):
    """The paper's unweighted L_content and L_style of `image` against `content` and `styles`, in
    fp32 at image's size with the settings' layers and weights (e.g. the output's style loss
    against the content photo's own). A list of images of one size gives a list of dicts, the
    targets computed once."""
    if isinstance(image, (list, tuple)):
        if len({im.size for im in image}) > 1:
            return [paper_losses(im, content, styles, settings) for im in image]
        return _paper_losses(list(image), content, styles, settings)
    return _paper_losses([image], content, styles, settings)[0]


def _paper_losses(pictures: list, content: Image.Image, styles, settings: Settings | None) -> list[dict]:
    s = (settings or Settings()).replace(precision="fp32", optimizer="adam")
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    s.validate(n_styles=len(styles))
    device = resolve_device(s.device)
    net = load_vgg(s.weights, str(device), False)
    hw = pictures[0].size[::-1]
    c = images.resize_to(images.to_tensor(content), hw).to(device)
    short_min = min_side(tuple(s.content_layers) + tuple(s.style_layers))
    st = [at_least(images.to_tensor(im), round(max(hw) * s.style_scale), short_min).to(device)
          for im in styles]
    objective = Objective(net, s, c, st, blend_weights(s, len(styles)), hw)
    out = []
    with torch.no_grad():
        for image in pictures:
            _, Lc, Ls = objective(images.to_tensor(image).to(device))
            out.append({"content": Lc.item(), "style": Ls.item()})
    return out


def grain_ratio(image: Image.Image, painting: Image.Image, mask: Image.Image | None = None) -> float:
    """The picture's grain (losses.grain: the mean absolute difference between neighbouring
    pixels) over the painting's own at the picture's pixel count; with `mask` (white = inside,
    any size) only within it, as a brushed patch is seen. 1.0: as rough as the painting."""
    x = images.to_tensor(image.convert("RGB"))
    m = None
    if mask is not None:
        m = torch.from_numpy(np.asarray(mask.convert("L").resize(image.size), np.float32) / 255)[None, None]
    return grain(x, m).item() / painting_grain(images.to_tensor(painting.convert("RGB")), tuple(x.shape[-2:]))

"""Spatial control: a mask keeps each painting in its region (Gatys et al. 2017, guided Grams)."""
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import cool_painting, warm_photo
from nst import Settings, stylize
from nst import run
from nst.vgg import pools_before
from nst.masks import at_layers, brushed, to_mask
from nst.settings import STYLE_LAYERS
from nst.vgg import load_vgg

W, H = 48, 36
FAST = dict(size=W, steps=30, frame_every=30, pyramid=False)


def _left_half() -> Image.Image:
    m = np.zeros((H, W), np.uint8)
    m[:, : W // 2] = 255
    return Image.fromarray(m)


def _green_painting() -> Image.Image:
    """The blue painting with its channels rotated: a green ground, magenta and red strokes."""
    return Image.fromarray(np.asarray(cool_painting(seed=2))[..., [1, 2, 0]])


def _halves(img):
    a = np.asarray(img, np.float32)
    return a[:, : W // 2].reshape(-1, 3).mean(0), a[:, W // 2:].reshape(-1, 3).mean(0)


def _mean(img):
    return np.asarray(img, np.float32).reshape(-1, 3).mean(0)


def _dist(a, b) -> float:
    return float(np.linalg.norm(a - b))


def test_split_mask_puts_painting_1_inside_and_painting_2_outside():
    """From white noise, so the colours each region takes come from its painting alone."""
    photo, blue, green = warm_photo(W, H), cool_painting(), _green_painting()
    s = Settings(mask_mode="split", init="noise", **FAST)
    out = run(photo, [blue, green], s, mask=_left_half()).image
    inside, outside = _halves(out)
    assert _dist(inside, _mean(blue)) < _dist(outside, _mean(blue)) - 10
    assert _dist(outside, _mean(green)) < _dist(inside, _mean(green)) - 10
    assert inside[2] > outside[2] + 15 and outside[1] > inside[1] + 10  # bluer | greener


def _change(out, photo) -> np.ndarray:
    """Per pixel, the mean absolute change over the channels, in grey levels."""
    return np.abs(np.asarray(out, np.float32) - np.asarray(photo.resize(out.size), np.float32)).mean(2)


def test_style_inside_only_keeps_the_photo_outside():
    """8 px from the edge the photo is untouched (<= 4 grey levels), inside it is painted."""
    photo, blue = warm_photo(W, H), cool_painting()
    change = _change(run(photo, blue, Settings(**FAST), mask=_left_half()).image, photo)
    edge = W // 2
    assert change[:, edge + 8:].mean() <= 4, change[:, edge + 8:].mean()
    assert change[:, : edge - 8].mean() >= 20, change[:, : edge - 8].mean()


def test_the_brushed_edge_is_a_soft_ramp_without_seam_or_halo():
    photo, blue = warm_photo(W, H), cool_painting()
    profile = _change(run(photo, blue, Settings(**FAST), mask=_left_half()).image, photo).mean(0)
    inside, outside = profile[: W // 2 - 8].mean(), profile[W // 2 + 8:].mean()
    steps = np.abs(np.diff(profile[W // 2 - 8: W // 2 + 8]))
    assert steps.max() < 0.5 * (inside - outside), steps  # a seam is one jump of the whole height
    assert profile[W // 2 + 2:].max() <= profile[W // 2 + 1] + 2, profile  # no halo out there


def test_every_streamed_frame_keeps_the_photo_outside():
    """Coarse levels too: with full_frames each frame is the final size, the photo outside."""
    photo, blue = warm_photo(64, 48), cool_painting()
    m = np.zeros((48, 64), np.uint8)
    m[:, :32] = 255
    s = Settings(size=64, steps=12, frame_every=1, pyramid=True, levels=[(32, 6), (64, 6)])
    frames = list(stylize(photo, blue, s, mask=Image.fromarray(m), full_frames=True))
    assert {f.scale for f in frames} == {0, 1}
    for f in frames:
        change = _change(f.image, photo)
        assert f.image.size == (64, 48) and change[:, 40:].mean() <= 4, (f.step, change[:, 40:].mean())
    assert change[:, :24].mean() >= 20


def test_a_full_mask_reproduces_the_unmasked_run():
    photo, blue = warm_photo(W, H), cool_painting()
    s = Settings(size=W, steps=10, pyramid=False, precision="fp32", optimizer="adam")
    plain = np.asarray(run(photo, blue, s).image, np.float32)
    full = Image.new("L", (W, H), 255)
    masked = np.asarray(run(photo, blue, s, mask=full).image, np.float32)
    assert np.abs(masked - plain).max() <= 2 and np.abs(masked - plain).mean() < 0.1


def test_the_mask_is_pooled_to_every_style_layers_map():
    """Odd sizes too: each halving floors, as VGG-19's own pooling does."""
    net = load_vgg("vgg19", "cpu", False)
    x = torch.rand(1, 3, 37, 53) * 255
    feats = net(x, STYLE_LAYERS)
    pooled = at_layers(torch.ones(1, 1, 37, 53), {l: pools_before(l) for l in STYLE_LAYERS})
    for l in STYLE_LAYERS:
        assert pooled[l].shape[-2:] == feats[l].shape[-2:]


def test_a_brush_layer_on_transparency_is_read_by_its_alpha():
    layer = Image.new("RGBA", (8, 6), (0, 0, 0, 0))
    layer.paste((200, 30, 30, 255), (0, 0, 4, 6))  # a red brush over the left half
    m = to_mask(layer)[0, 0]
    assert m[:, :4].min() == 1 and m[:, 4:].max() == 0
    assert to_mask(Image.new("L", (8, 6), 255)).min() == 1


def test_brush_layers_make_one_mask_and_no_strokes_make_none():
    a, b = Image.new("RGBA", (8, 6), (0, 0, 0, 0)), Image.new("RGBA", (8, 6), (0, 0, 0, 0))
    a.paste((255, 0, 0, 255), (0, 0, 2, 6))
    b.paste((0, 0, 255, 160), (6, 0, 8, 6))  # a see-through brush still means "here"
    b.paste((0, 0, 255, 32), (4, 0, 5, 6))  # ... and its faint rim, partly
    m = np.asarray(brushed([a, b]))
    assert m[:, :2].min() == 255 and m[:, 6:].min() == 255 and m[:, 2:4].max() == 0
    assert 0 < m[0, 4] < 128
    assert brushed([Image.new("RGBA", (8, 6), (9, 9, 9, 0))]) is None and brushed([]) is None


@pytest.mark.parametrize("mask, styles, mode, message", [
    (Image.new("L", (W, W)), 1, "inside", r"mask is 48x48 px but the photo is 48x36"),
    (Image.new("L", (W, H)), 1, "inside", r"mask is empty"),
    (Image.new("L", (W, H), 255), 1, "split", r"needs exactly 2 paintings; got 1"),
    (Image.new("L", (W, H), 255), 1, "both", r"mask_mode must be one of inside, split"),
])
def test_unusable_masks_are_refused_with_a_sentence(mask, styles, mode, message):
    with pytest.raises(ValueError, match=message):
        next(stylize(warm_photo(W, H), [cool_painting()] * styles,
                     Settings(mask_mode=mode, size=W, steps=2), mask=mask))

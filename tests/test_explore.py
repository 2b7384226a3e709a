"""nst.explore on small real images: the paper's Figure-1 effects, Gram matching, receptive fields."""
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from nst import explore
from nst.losses import gram
from nst.vgg import load_vgg

CAT = Path(__file__).resolve().parents[1] / "examples" / "photos" / "chelsea.jpg"


@pytest.fixture(scope="module")
def cat():
    img = Image.open(CAT).convert("RGB")
    img.thumbnail((64, 64), Image.LANCZOS)
    return img


def _final(frames):
    *_, last = frames
    assert last.done
    return last


def _pixel_error(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).mean())


def test_content_from_conv1_1_is_near_the_photo_and_from_conv5_1_is_not(cat):
    s = explore.recon_settings(size=64, steps=60)
    shallow = _final(explore.reconstruct(cat, "conv1_1", "content", s)).image
    deep = _final(explore.reconstruct(cat, "conv5_1", "content", s)).image
    assert shallow.size == deep.size == cat.size
    e1, e5 = _pixel_error(shallow, cat), _pixel_error(deep, cat)
    assert e1 < 12, f"conv1_1 reconstruction is {e1:.1f} grey levels off on average"
    assert e5 > 3 * e1, f"conv5_1 ({e5:.1f}) should be much further from the photo than conv1_1 ({e1:.1f})"


def test_style_reconstruction_matches_the_target_grams_of_its_layers(cat):
    layers = explore.style_layers_upto("conv2_1")
    s = explore.recon_settings(size=64, steps=60)
    out = _final(explore.reconstruct(cat, "conv2_1", "style", s)).image
    start = explore.noise_image(cat.size, s.seed)
    net = load_vgg(s.weights, "cpu", False)

    def grams(img):
        x = torch.from_numpy(np.asarray(img, np.float32)).permute(2, 0, 1)[None]
        with torch.no_grad():
            return {l: gram(f) for l, f in net(x, layers).items()}

    target, got, noise = grams(cat), grams(out), grams(start)
    for l in layers:
        err = float((got[l] - target[l]).norm() / target[l].norm())
        err0 = float((noise[l] - target[l]).norm() / target[l].norm())
        assert err < 0.1 and err < err0 / 5, f"{l}: Gram error {err:.3f} (noise start: {err0:.3f})"
    # ... and it is a texture, not the photo: the layout is gone
    assert _pixel_error(out, cat) > 20


def test_reconstruct_streams_frames_and_honours_cancel(cat):
    s = explore.recon_settings(size=32, steps=30, frame_every=5)
    frames = list(explore.reconstruct(cat, "conv2_1", "content", s))
    assert len(frames) == 6 and [f.step for f in frames] == [5, 10, 15, 20, 25, 30]
    cancel = threading.Event()
    cancel.set()
    assert _final(explore.reconstruct(cat, "conv2_1", "style", s, cancel=cancel)).step == 1


def test_style_layer_sets_grow_like_the_paper():
    assert explore.style_layers_upto("conv1_1") == ("conv1_1",)
    assert explore.style_layers_upto("conv3_1") == ("conv1_1", "conv2_1", "conv3_1")
    assert explore.style_layers_upto("conv4_2") == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2")
    with pytest.raises(ValueError, match="unknown layer"):
        explore.style_layers_upto("conv6_1")
    with pytest.raises(ValueError, match="mode"):
        explore.reconstruct(Image.new("RGB", (8, 8)), "conv1_1", "texture")


@pytest.mark.parametrize("layer, size", [("conv1_1", 3), ("conv2_1", 10), ("conv3_1", 24),
                                         ("conv4_1", 68), ("conv5_1", 156)])
def test_receptive_field_is_exactly_where_a_unit_gets_gradient(layer, size):
    """The pixels that can change a unit's activation are its receptive field, no more, no less."""
    rf = explore.receptive_field(layer)
    assert rf.size == size
    side = 192 if size > 64 else 96
    net = load_vgg("vgg19", "cpu", False)
    x = (torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0)) * 255).requires_grad_()
    F = net(x, (layer,))[layer]
    h, w = F.shape[2:]
    i, j = h // 2, w // 2
    k = int(F[0, :, i, j].argmax())  # a unit that is on, so its ReLU passes gradient
    F[0, k, i, j].backward()
    ys, xs = torch.nonzero(x.grad[0].abs().sum(0)).T
    support = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    assert support == rf.box(i, j, (side, side))


def test_top_patches_are_each_channels_peaks_cut_to_the_receptive_field(cat):
    plain = Image.new("RGB", (64, 64), (128, 128, 128))
    found = explore.top_patches([plain, cat], "conv3_1", n_channels=3, per_channel=4)
    assert len(found) == 3
    rf = explore.receptive_field("conv3_1")
    fitted = cat.resize(explore.images.fit_size(*cat.size, explore.PATCH_SIDE), Image.LANCZOS)
    F = explore.layer_features(fitted, "conv3_1")
    for c, patches in found.items():
        assert patches and all(p.source == 1 for p in patches[:2])  # the cat, not the flat grey
        assert [p.score for p in patches] == sorted((p.score for p in patches), reverse=True)
        assert patches[0].score == pytest.approx(float(F[c].max()), rel=1e-4)
        for p in patches:
            l, t, r, b = p.box
            assert p.image.size == (r - l, b - t) and r - l <= rf.size and b - t <= rf.size
    grid = explore.patches_grid("conv3_1", found)
    assert grid.height > 3 * 40


def test_activation_maps_show_the_most_active_channels_first(cat):
    maps = explore.activation_maps(cat, "conv2_1", n=5, size=64)
    assert len(maps) == 6 and maps[0][0].size == cat.size
    means = [float(m.split("mean ")[1].split(",")[0]) for _, m in maps[1:]]
    assert means == sorted(means, reverse=True)
    assert all(img.size == cat.size for img, _ in maps)


def test_figure1_fills_a_two_row_grid_cell_by_cell(cat):
    s = explore.recon_settings(size=32, steps=2, frame_every=1)
    updates = list(explore.figure1(cat, settings=s))
    cells = [u.cell for u in updates]
    assert cells == sorted(cells) and set(cells) == set(range(10))
    assert updates[-1].done and len(updates[-1].times) == 10
    labels = {u.label for u in updates}
    assert "content from conv5_1" in labels and "style from conv1_1..conv5_1" in labels
    assert updates[-1].image.size == updates[0].image.size


def test_ratio_row_paints_one_cell_per_ratio(cat):
    s = explore.recon_settings(size=32, steps=2, frame_every=1)
    updates = list(explore.ratio_row(cat, cat.rotate(90), (1e-4, 1e-1), s))
    assert updates[-1].done and len(updates[-1].times) == 2
    assert {u.label for u in updates} >= {"alpha/beta = 0.0001", "alpha/beta = 0.1"}


def test_the_glyph_check_tells_a_letter_from_a_missing_glyph_box():
    """Pillow's own font has no alpha or beta (they drew as boxes); DejaVu Sans has both."""
    bare = ImageFont.load_default(size=11)
    assert explore.has_glyphs(bare, "a/b = 1e-05") and not explore.has_glyphs(bare, "α")
    if not explore.DEJAVU.is_file():
        pytest.skip("fonts-dejavu-core is not installed")
    assert explore.has_glyphs(ImageFont.truetype(str(explore.DEJAVU), 11), "αβ")


def _drawn_text(monkeypatch) -> list:
    """(text, font) of every text drawn from now on onto an RGB picture (the figures' grids)."""
    drawn, text = [], ImageDraw.ImageDraw.text

    def spy(self, xy, words, *args, **kwargs):
        if self.mode == "RGB":
            drawn.append((words, kwargs["font"]))
        return text(self, xy, words, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    return drawn


def test_ratio_row_captions_are_drawn_in_a_font_that_has_their_letters(cat, monkeypatch):
    drawn = _drawn_text(monkeypatch)
    list(explore.ratio_row(cat, cat, (1e-5, 1e-3), explore.recon_settings(size=64, steps=1)))
    ratios = {words for words, _ in drawn if "=" in words}
    assert ratios, drawn
    boxed = {words for words, font in drawn if not explore.has_glyphs(font, words)}
    assert not boxed, f"drawn with a font that lacks some of their letters: {boxed}"
    if explore.DEJAVU.is_file():  # where the font is installed (CI), the paper's own symbols
        assert ratios == {"α/β = 1e-05", "α/β = 0.001"}, ratios
    else:
        assert ratios == {"alpha/beta = 1e-05", "alpha/beta = 0.001"}, ratios

"""Live steering: knobs moved while stylize() runs act on the next steps, never restart the run,
and leave a run that is not steered exactly as it was."""
import numpy as np
import pytest
import torch

from conftest import cool_painting, warm_photo
from nst import Settings, stylize
from nst.controls import Controls
from nst.objective import Objective
from nst.budget import resolve
from nst.vgg import load_vgg
from nst import images

S = Settings(size=32, steps=16, frame_every=1, pyramid=False, style_weight=100,  # alpha/beta 1e-2
             optimizer="adam")  # Adam on every machine (L-BFGS steering: its own test below)
CHANGE_AT = 8  # the knob moves when the frame of this step arrives


def _run(photo, painting, change=None, controls=None, settings=S):
    """[(step, content, style)] and the last frame; `change` is set on the controls mid-run."""
    controls = controls if controls is not None else Controls()
    seen, frame = [], None
    for frame in stylize(photo, painting, settings, controls=controls):
        seen.append((frame.step, frame.losses["content"], frame.losses["style"]))
        if frame.step == CHANGE_AT and change:
            controls.set(**change)
    return seen, frame


def test_moving_alpha_beta_mid_run_pulls_the_losses_within_two_steps(photo, painting):
    """A frame reports the losses of the picture before that step's update, so step
    CHANGE_AT + 2 shows the picture after the first steered update."""
    plain, plain_last = _run(photo, painting)
    content_side, last = _run(photo, painting, change=dict(ratio=S.ratio * 100))
    style_side, _ = _run(photo, painting, change=dict(ratio=S.ratio / 100))
    assert plain[:CHANGE_AT + 1] == content_side[:CHANGE_AT + 1] == style_side[:CHANGE_AT + 1]
    at = CHANGE_AT + 1  # index of step CHANGE_AT + 2
    assert content_side[at][1] < 0.97 * plain[at][1]  # more alpha: nearer the photo at once ...
    assert content_side[-1][1] < 0.6 * plain[-1][1]  # ... and more so as the run goes on
    assert style_side[at][2] < 0.97 * plain[at][2] and style_side[-1][2] < 0.8 * plain[-1][2]
    assert last.steered == ((CHANGE_AT + 1, 1),) and not plain_last.steered
    assert last.step == S.steps and last.done  # the run went on to its end: no restart


def test_unsteered_run_gives_the_same_pixels_with_or_without_controls(photo, painting):
    s = S.replace(steps=6, init="noise", seed=5)
    with_controls = _run(photo, painting, controls=Controls(), settings=s)[1].image
    without = list(stylize(photo, painting, s))[-1].image
    assert np.array_equal(np.asarray(with_controls), np.asarray(without))


def _objective(styles, blend, layer_weights=None, content_weight=S.content_weight):
    s = S.replace(precision="fp32", layer_weights=layer_weights, content_weight=content_weight)
    net = load_vgg(s.weights, "cpu", False)
    c = images.to_tensor(warm_photo(32, 32))
    st = [images.to_tensor(im) for im in styles]
    return Objective(net, s, c, st, blend, (32, 32), torch.no_grad, torch.contiguous_format)


def test_blend_and_layer_weights_are_remixed_without_new_features(monkeypatch):
    """Steering re-mixes the stored Gram targets: no VGG pass, and the objective is then the
    one a run started with those settings would have, with the paper's alpha for the new ratio."""
    a, b = cool_painting(), cool_painting(seed=7).rotate(90)
    x = images.to_tensor(warm_photo(32, 32)) * 0.5 + 40
    assert (S.content_weight, S.style_weight) == (1.0, 100)  # alpha/beta 1e-2 before the change
    steered = _objective([a, b], [1.0, 0.0])
    calls = []
    monkeypatch.setattr(Objective, "features", lambda self, *a, **k: calls.append(1))
    steered.steer(ratio=0.1, style_blend=(1, 3), layer_weights=(0, 0, 1, 1, 0))
    assert calls == []
    monkeypatch.undo()
    # a run started with alpha/beta = 0.1 (alpha = 10, beta = 100), blend 1:3 and those w_l
    fresh = _objective([a, b], [0.25, 0.75], layer_weights=(0, 0, 1, 1, 0), content_weight=10.0)
    with torch.no_grad():
        got, want = steered(x), fresh(x)
    for g, w in zip(got, want):
        assert torch.allclose(g, w, rtol=1e-5)
    # Eq. 7 written out: L = alpha L_content + beta L_style, alpha = 0.1 x beta = 10 at the
    # reference area of 512 x 512 x 2/3 px, so 10 x 174762 / (32 x 32) at this 32 x 32 picture
    total, content, style = (float(v) for v in got)
    assert total == pytest.approx(10 * 174762 / 1024 * content + 100 * style, rel=1e-5)
    assert total != pytest.approx(1 * 174762 / 1024 * content + 100 * style, rel=1e-3)  # not the old alpha


def test_lbfgs_follows_a_change_too(photo, painting):
    """L-BFGS follows a change too: from the same picture, with a fresh curvature history (the
    old one described the old objective and sent the line search to NaN) and no cached loss."""
    s = S.replace(optimizer="lbfgs")  # 8 steps after the change: its stale curvature needs a few
    assert resolve(s)[2] == "lbfgs"
    plain, _ = _run(photo, painting, settings=s)
    steered, last = _run(photo, painting, change=dict(ratio=s.ratio * 1000), settings=s)
    assert steered[-1][1] < 0.6 * plain[-1][1] and last.done


@pytest.mark.parametrize("change, message", [  # Settings.validate's sentences, each naming its knob
    (dict(ratio=0), r"ratio \(alpha/beta\) must be a finite number > 0"),
    (dict(ratio=float("inf")), r"ratio \(alpha/beta\) must be a finite number > 0"),
    (dict(layer_weights=(1, 1)), r"layer_weights has 2 values for 5 style layers"),
    (dict(layer_weights=(0,) * 5), r"layer_weights are all 0"),
    (dict(layer_weights=(1, 1, float("nan"), 1, 1)), r"layer_weights must be from 0 to inf"),
    (dict(style_blend=(1, -1)), r"style_blend has 2 weights for 1 style images"),
    (dict(style_blend=(-1,)), r"style_blend weights must be from 0 to inf and not all 0"),
    (dict(gamma=1), r"unknown control 'gamma'"),
])
def test_bad_changes_are_refused_and_the_run_keeps_its_knobs(photo, painting, change, message):
    controls = Controls(ratio=1e-3)
    frames = stylize(photo, painting, S.replace(steps=3), controls=controls)
    next(frames)
    with pytest.raises(ValueError, match=message):
        controls.set(**change)
    assert controls.read() == (1, {"ratio": 1e-3, "layer_weights": None, "style_blend": None})
    assert list(frames)[-1].done


def test_controls_need_both_losses(photo, painting):
    with pytest.raises(ValueError, match="live controls need content_weight > 0 and style_weight"):
        next(stylize(photo, painting, S.replace(content_weight=0), controls=Controls()))


def test_a_change_carries_over_to_the_next_pyramid_level(photo, painting):
    """The finer level builds a new objective from the Settings; the knob set during the coarse
    level must still hold there (one change, reported once). Read from the frames' losses:
    total = alpha L_content + beta L_style, so alpha = (total - beta L_style) / L_content."""
    s = Settings(size=256, steps=6, frame_every=1, style_weight=100, optimizer="adam", basis="pixels")

    def alpha_at_fine_level(change):
        controls, seen = Controls(), []
        for f in stylize(photo.resize((256, 214)), painting, s, controls=controls):
            if f.step == 1 and change:
                controls.set(ratio=s.ratio * 100)
            seen.append(f)
        fine = seen[-1].losses
        assert seen[-1].scale == 1 and seen[-1].levels == 2
        return (fine["total"] - s.style_weight * fine["style"]) / fine["content"], seen[-1]

    plain, _ = alpha_at_fine_level(False)
    steered, last = alpha_at_fine_level(True)
    assert steered == pytest.approx(100 * plain, rel=0.02) and last.steered == ((2, 1),)

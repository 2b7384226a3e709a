"""The /stylize API takes a mask and returns the run's time-lapse as a file."""
from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from test_app import images, server  # noqa: F401  (the real app; tiny test images)


def _file(value) -> str:
    return value["value"] if isinstance(value, dict) else value


def test_a_mask_keeps_the_style_inside_and_the_time_lapse_comes_back(server, images, tmp_path):  # noqa: F811
    mask = Image.new("L", (64, 48))
    mask.paste(255, (0, 0, 32, 48))
    mask.save(tmp_path / "mask.png")
    client = Client(server, verbose=False)
    out = client.predict(handle_file(images["photo"]), handle_file(images["paint"]), size=64, steps=40,
                         pyramid=False, mask=handle_file(str(tmp_path / "mask.png")), mask_mode="inside",
                         api_name="/stylize")
    painted = np.asarray(Image.open(out[0]).convert("RGB"), float)
    photo = np.asarray(Image.open(images["photo"]).convert("RGB").resize((64, 48)), float)
    change = np.abs(painted - photo).mean(2)
    assert change[:, :28].mean() > 2 * change[:, 36:].mean()
    movie = Image.open(_file(out[-1]))
    assert movie.format == "WEBP" and movie.is_animated and movie.size == (64, 48)


@pytest.mark.parametrize("mask_size, mode, words", [
    ((48, 48), "inside", "The mask is 48x48 px but the photo is 64x48"),
    ((64, 48), "split", "needs exactly 2 paintings"),
    ((64, 48, 0), "inside", "The mask is empty"),
    ((64, 48), "outside", "not in the list of choices: ['inside', 'split']"),
])
def test_bad_masks_get_a_sentence(server, images, tmp_path, mask_size, mode, words):  # noqa: F811
    Image.new("L", mask_size[:2], mask_size[2] if len(mask_size) > 2 else 255).save(tmp_path / "m.png")
    with pytest.raises(AppError) as err:
        Client(server, verbose=False).predict(
            handle_file(images["photo"]), handle_file(images["paint"]), size=64, steps=5,
            mask=handle_file(str(tmp_path / "m.png")), mask_mode=mode, api_name="/stylize")
    assert words in str(err.value) and "Traceback" not in str(err.value)


def test_page_sliders_reach_the_sessions_run_by_slot():
    """What a slider event does: the session's run gets the new knobs (blend by painting slot),
    with a sentence per change; another session's run is untouched."""
    import types

    from nst import Settings
    from nst.ui import paint, run

    s = Settings(style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
                 layer_weights=(0.2,) * 5, style_blend=(1.0, 0.5))
    me, other = types.SimpleNamespace(session_hash="me"), types.SimpleNamespace(session_hash="other")
    with run.STEERINGS.run("me", s, 2) as mine, run.STEERINGS.run("other", s, 2) as theirs:
        paint._steer(me, -1.0, 0.2, 0.2, 0.7, 0.2, 0.2, 1.0, 0.9, 0.25, None, "third.png")
        version, knobs = mine.controls.read()
        assert version == 1 and knobs["ratio"] == pytest.approx(0.1)
        assert knobs["layer_weights"] == (0.2, 0.2, 0.7, 0.2, 0.2)
        assert knobs["style_blend"] == (1.0, 0.25)  # painting 3's slot, not painting 2's
        assert mine.changes(((12, 1),)) == [
            (12, "photo against painting → 10^-1.0, conv3_1 → 0.7, blend → 1:0.25")]
        assert theirs.controls.read()[0] == 0
    assert run.STEERINGS.get("me") is None  # the run ended: nothing left to steer

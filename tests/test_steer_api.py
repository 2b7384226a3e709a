"""The /stylize API takes a mask and returns the run's time-lapse as a file."""
from __future__ import annotations

import numpy as np
import pytest
from waiting import wait_until
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
    from nst.ui import paint, runs

    s = Settings(style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
                 layer_weights=(0.2,) * 5, style_blend=(1.0, 0.5))
    me, other = types.SimpleNamespace(session_hash="me"), types.SimpleNamespace(session_hash="other")
    with runs.STEERINGS.run("me", s, 2) as mine, runs.STEERINGS.run("other", s, 2) as theirs:
        paint._steer(me, -1.0, 0.2, 0.2, 0.7, 0.2, 0.2, 1.0, 0.9, 0.25, None, "third.png")
        version, knobs = mine.controls.read()
        assert version == 1 and knobs["ratio"] == pytest.approx(0.1)
        assert knobs["layer_weights"] == (0.2, 0.2, 0.7, 0.2, 0.2)
        assert knobs["style_blend"] == (1.0, 0.25)  # painting 3's slot, not painting 2's
        assert mine.changes(((12, 1),)) == [
            (12, "photo against painting → 10^-1.0, conv3_1 → 0.7, blend → 1:0.25")]
        assert theirs.controls.read()[0] == 0
    assert runs.STEERINGS.get("me") is None  # the run ended: nothing left to steer


def test_the_page_sends_slider_values_one_at_a_time_the_latest_last():
    """Each call carries every slider's value and is applied on arrival, outside the queue. With
    one event per slider, two sliders moved together raced and the older values could land last
    (seen in CI: conv4_1 typed to 0, the run left at 0.2). All sliders are one event whose page
    side sends one call at a time and then the latest values (Gradio's always_last)."""
    import app

    config = app.demo.get_config_file()
    ids = {c["props"].get("elem_id"): c["id"] for c in config["components"]}
    sliders = {ids[e] for e in ("ratio", "w_conv1_1", "w_conv3_1", "w_conv5_1", "blend_2")}
    carrying = [d for d in config["dependencies"] if sliders & {t[0] for t in d["targets"] if t[1] == "change"}]
    assert len(carrying) == 1, [d["targets"] for d in carrying]
    assert sliders <= {t[0] for t in carrying[0]["targets"]} and carrying[0]["trigger_mode"] == "always_last"


def _slider_call(url: str, client, elem_id: str, values: list):
    """What the page sends when a slider moves: paint._steer (page only, outside the queue, so not
    an API name gradio_client can call) by its index, in the session of the client's run."""
    import json
    import re

    import httpx

    config = client.config
    slider = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    dep = next(d for d in config["dependencies"] if re.fullmatch(r"_steer(_\d+)?", d.get("api_name") or "")
               and [slider, "change"] in [list(t) for t in d["targets"]])  # one per slider: _steer_1 ...
    body = {"data": values, "fn_index": dep["id"], "session_hash": client.session_hash,
            "event_data": None, "trigger_id": slider}
    return httpx.post(url + "gradio_api/run/predict", content=json.dumps(body),
                      headers={"content-type": "application/json"}, timeout=30)


def _step(status: str) -> int:
    import re
    m = re.search(r"step (\d+)", status)
    return int(m[1]) if m else 0


def test_a_live_slider_value_out_of_the_servers_range_is_refused_and_the_run_goes_on(
        server, images, monkeypatch):  # noqa: F811
    """Through the page's own slider call against the real server: a live value is checked by
    Settings.validate with the server's Limits, as the run's own parameters are. Refused in a
    sentence naming the parameter; the running job keeps its old knobs and keeps painting."""
    import dataclasses
    import time

    from nst.ui import limits, runs

    # the server's caps, tightened: the run's own alpha/beta (10^-3) fits, 10^0 does not
    monkeypatch.setattr(limits, "LIMITS", dataclasses.replace(limits.LIMITS, ratio=(1e-8, 1e-2)))
    client = Client(server, verbose=False)
    job = client.submit(handle_file(images["photo"]), handle_file(images["paint"]), size=96, steps=800,
                        pyramid=False, api_name="/stylize")
    try:
        end = time.monotonic() + 60
        while not (job.outputs() and runs.STEERINGS.get(client.session_hash)) and time.monotonic() < end:
            time.sleep(0.05)
        steering = runs.STEERINGS.get(client.session_hash)
        assert steering is not None and not job.done(), "the run did not start"
        weights, blend = [0.2] * 5, [1.0, 0.5, 0.5]
        refused = {
            "ratio": ([0.0, *weights, *blend, None, None],  # alpha/beta 10^0 = 1 > the cap 1e-2
                      "Not applied: Ratio (alpha/beta) must be from 1e-08 to 0.01, got 1."),
            "w_conv3_1": ([-3.0, 0, 0, 0, 0, 0, *blend, None, None],
                          "Not applied: Layer_weights are all 0: give at least one style layer a weight above 0."),
        }
        for elem_id, (values, sentence) in refused.items():
            r = _slider_call(server, client, elem_id, values)
            assert r.status_code == 500 and r.json()["error"] == sentence, (r.status_code, r.text)
            assert r.json()["title"] == "Slider"
        at = _step(job.outputs()[-1][1])
        assert steering.controls.read() == (0, {"ratio": None, "layer_weights": None, "style_blend": None})
        wait_until(lambda: _step(job.outputs()[-1][1]) >= at + 3 or job.done(), 60,
                   "three more steps")  # it keeps painting ...
        status = job.outputs()[-1][1]
        assert not job.done() and _step(status) >= at + 3, status
        assert "→" not in status and steering.controls.read()[0] == 0, status  # ... with its old knobs
        # the same call with a value within the caps is taken at the next step
        r = _slider_call(server, client, "ratio", [-2.0, *weights, *blend, None, None])
        assert r.status_code == 200, r.text
        assert steering.controls.read() == (1, {"ratio": pytest.approx(1e-2), "layer_weights": (0.2,) * 5,
                                                "style_blend": None})
    finally:
        job.cancel()
        end = time.monotonic() + 30
        while runs.RUNS.count() and time.monotonic() < end:
            time.sleep(0.1)


def test_a_live_value_meets_the_very_rules_and_sentences_of_the_runs_own_parameters():
    """One rule set: what a slider sends mid-run is refused exactly when, and in the words in which,
    the same value as the run's own parameter is refused (Settings.validate, the server's LIMITS)."""
    from nst import Settings
    from nst.settings import STYLE_LAYERS
    from nst.ui import limits, runs

    s = Settings(content_weight=1e-3, style_weight=1.0, style_layers=STYLE_LAYERS, layer_weights=(0.2,) * 5,
                 style_blend=(1.0, 0.5))
    for knob, value, own in [
        ("ratio", 1e3, dict(content_weight=1e3)),  # 10^3 > the server's 10^2
        ("ratio", 1e-9, dict(content_weight=1e-9)),
        ("layer_weights", (0.2, 1.5, 0.2, 0.2, 0.2), dict(layer_weights=(0.2, 1.5, 0.2, 0.2, 0.2))),  # w_l <= 1
        ("style_blend", (1.0, 2.0), dict(style_blend=(1.0, 2.0))),  # a painting's weight <= 1
        ("style_blend", (0.0, 0.0), dict(style_blend=(0.0, 0.0))),
    ]:
        with pytest.raises(ValueError) as own_err:
            s.replace(**own).validate(n_styles=2, limits=limits.LIMITS)
        steering = runs.Steering(s, 2)
        with pytest.raises(ValueError) as live_err:
            steering.controls.set(**{knob: value})
        assert str(live_err.value) == str(own_err.value), knob
        assert steering.controls.read()[0] == 0
    for knob, value in [("ratio", 1e2), ("layer_weights", (0, 0, 1, 0, 0)), ("style_blend", (0.0, 1.0))]:
        runs.Steering(s, 2).controls.set(**{knob: value})  # at the caps: taken

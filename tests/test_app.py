"""The app's HTTP API, driven as a visitor's script would: gradio_client against a real server.

Tiny images and runs: 64 px outputs, so each call takes a second or two on a 2-core CPU.
"""
from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import app

TINY = dict(size=64, steps=120, pyramid=False)  # long enough for several 0.3 s frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """The real app (its queue, limits, warm-up) on a free local port; yields its URL."""
    _, url, _ = app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                           quiet=True)
    yield url
    app.demo.close()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64]
    photo = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).clip(0, 255).astype(np.uint8)  # smooth ramps
    paint = (rng.integers(0, 4, (6, 6, 3)) * 80).astype(np.uint8)  # blocky colour patches
    Image.fromarray(photo).save(d / "photo.png")
    Image.fromarray(paint).resize((48, 48), Image.NEAREST).save(d / "paint.png")
    (d / "notes.txt").write_text("this is not an image")
    return {k: str(d / f) for k, f in (("photo", "photo.png"), ("paint", "paint.png"), ("text", "notes.txt"))}


def _submit(server, images, **params):
    client = Client(server, verbose=False)
    return client.submit(handle_file(images["photo"]), handle_file(images["paint"]),
                         api_name="/stylize", **params)


def _wait(job, seconds=120):
    end = time.monotonic() + seconds
    while not job.done() and time.monotonic() < end:
        time.sleep(0.1)
    assert job.done(), "the job did not end"


def test_only_two_images_paint_a_picture(server, images):
    """The documented minimal call: content and style only, everything else defaulted."""
    client = Client(server, verbose=False)
    result = client.predict(handle_file(images["photo"]), handle_file(images["paint"]), api_name="/stylize")
    image, status = result[0], result[1]
    out = Image.open(image)
    assert max(out.size) == app.PRESETS["quick"][0]  # the quick preset's size
    assert "Done" in status
    photo = np.asarray(Image.open(images["photo"]).convert("RGB").resize(out.size), float)
    assert np.abs(np.asarray(out.convert("RGB"), float) - photo).mean() > 5  # it was painted


def test_stylize_streams_distinct_frames_then_the_final_image(server, images):
    job = _submit(server, images, **TINY)
    _wait(job)
    outputs = job.outputs()
    frames = [Image.open(o[0]).tobytes() for o in outputs[:-1]]
    assert len(set(frames)) >= 3, f"only {len(set(frames))} distinct frames were streamed"
    assert "step" in outputs[0][1] and "left" in outputs[0][1]  # the status line while painting
    final_image, final_status, _, before_after, png = outputs[-1][:5]
    assert "Done" in final_status
    full = Image.open(png["value"] if isinstance(png, dict) else png)
    assert full.format == "PNG" and max(full.size) == 64


def test_cancel_ends_the_run_and_frees_the_device(server, images):
    job = _submit(server, images, size=96, steps=800, pyramid=False)
    while len(job.outputs()) < 2 and not job.done():
        time.sleep(0.05)
    job.cancel()
    _wait(job, 30)
    assert "Done" not in job.outputs()[-1][1]  # it ended early ...
    again = _submit(server, images, size=64, steps=5, pyramid=False)  # ... and the slot is free
    _wait(again)
    assert "Done" in again.outputs()[-1][1]


@pytest.mark.parametrize("params, words", [
    (dict(w_conv1_1=0, w_conv2_1=0, w_conv3_1=0, w_conv4_1=0, w_conv5_1=0), "style layer"),
    (dict(optimizer="lbfgs", precision="bf16"), "L-BFGS"),
    (dict(size=32), "size"),
])
def test_bad_parameters_get_a_readable_error(server, images, params, words):
    client = Client(server, verbose=False)
    with pytest.raises(AppError) as err:
        client.predict(handle_file(images["photo"]), handle_file(images["paint"]), api_name="/stylize", **params)
    assert words in str(err.value) and "Traceback" not in str(err.value)


def test_a_file_that_is_not_an_image_is_refused_in_words(server, images):
    client = Client(server, verbose=False)
    with pytest.raises(AppError) as err:
        client.predict(handle_file(images["text"]), handle_file(images["paint"]), api_name="/stylize")
    assert "not an image" in str(err.value)


def test_stop_is_not_a_public_endpoint(server):
    api = Client(server, verbose=False).view_api(return_format="dict", print_info=False)
    named = set(api["named_endpoints"])
    assert "/stylize" in named and not api["unnamed_endpoints"]
    page_only = {"/_stop", "/_arm", "/_arm_checked", "/refine", "/pick", "/_show_compare", "/lambda"}
    assert not named & page_only, f"page-only handlers exposed: {named & page_only}"


def test_refine_continues_from_the_result_at_a_larger_size(images, tmp_path):
    """Refine (page only) starts from the painted result at 1.5x the size, with the photo still the
    content target: its first frame already looks like the result, not like the photo."""
    import inspect
    import types

    request = types.SimpleNamespace(session_hash="refine-test")
    values = {p: inspect.signature(app.stylize).parameters[p].default for p in app.API_PARAMS}
    values.update(content=images["photo"], style=images["paint"], size=64, steps=30, pyramid=False)
    *_, painted = app.stylize(**values, request=request)
    result = tmp_path / "result.png"
    painted[0].save(result)
    refine = app.refine(request, str(result), *values.values())
    first = next(refine)[0]
    *_, refined = refine
    assert refined[0].size == (96, 72)  # 1.5x of 64x48
    a = lambda im: np.asarray(im.convert("RGB").resize((64, 48)), dtype=float)  # noqa: E731
    photo = Image.open(images["photo"])
    assert np.abs(a(first) - a(painted[0])).mean() < 0.5 * np.abs(a(first) - a(photo)).mean()

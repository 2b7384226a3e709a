"""The Explore tab's HTTP API, driven by gradio_client against the real app on 127.0.0.1."""
from __future__ import annotations

import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from live_server import ROOT, live_server

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def client():
    """The real app (`python app.py`) in a child process on a free loopback port."""
    with live_server() as (url, _, _):
        yield Client(url, verbose=False)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    yy, xx = np.mgrid[0:48, 0:64]
    a = np.stack([xx * 4, yy * 5, 255 - (xx + yy) * 2], -1).clip(0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("img") / "photo.png"
    Image.fromarray(a).save(path)
    return str(path)


def test_reconstruct_streams_frames_with_only_image_layer_and_mode(client, photo):
    job = client.submit(handle_file(photo), "conv4_2", "content", api_name="/reconstruct")
    end = time.monotonic() + 240
    while not job.done() and time.monotonic() < end:
        time.sleep(0.1)
    outputs = job.outputs()
    assert len(outputs) >= 3, f"only {len(outputs)} frames were streamed"
    assert len({Image.open(o[0]).tobytes() for o in outputs}) >= 3  # the picture changes as it goes
    assert "Done" in outputs[-1][1] and "conv4_2" in outputs[-1][1]
    # computed at the default 128 px, shown three times as large (each pixel a 3x3 block)
    assert "Computed at 128×96 px, shown 3× larger" in outputs[-1][1]
    assert Image.open(outputs[-1][0]).size == (384, 288)


def test_figure_returns_the_whole_grid(client, photo):
    grid, status = client.predict(handle_file(photo), None, 32, 3, api_name="/figure")
    img = Image.open(grid)
    assert "Done**: 10 reconstructions" in status
    assert "The Starry Night" in status  # no painting given: the example one, and it says so
    # 2 rows x (original + 5 reconstructions) of 32 px cells, plus padding and captions
    assert img.width > 6 * 32 and img.height > 2 * 32
    # every reconstruction cell was painted: no column of the grid is left blank
    a = np.asarray(img.convert("L"), dtype=float)
    col = img.width // 6
    assert all(a[:, k * col:(k + 1) * col].std() > 5 for k in range(6))


def test_the_ratio_row_without_a_painting_paints_in_the_starry_night(client, photo):
    grid, status = client.predict(handle_file(photo), None, 32, 2, api_name="/ratio_row")
    assert "Done**: 4 reconstructions" in status and "The Starry Night" in status, status
    cells = np.asarray(Image.open(grid).convert("RGB"), float)

    def off(painting):
        """Grey levels between the grid's second cell (4 px padding, 32 px cells, the 24 px row
        of the 64x48 photo) and `painting` as the grid shows it."""
        p = Image.open(painting).convert("RGB")
        p.thumbnail((32, 32), Image.LANCZOS)
        top, left = 4 + (24 - p.height) // 2, 40 + (32 - p.width) // 2
        return np.abs(cells[top:top + p.height, left:left + p.width] - np.asarray(p, float)).mean()

    # of the example paintings, the one in the style cell (JPEG leaves it ~13 levels off, the rest 69+)
    assert min(sorted((EXAMPLES / "styles").glob("*.jpg")), key=off).name == "starry_night.jpg"


@pytest.mark.parametrize("args, bad", [(("conv9_9", "content"), "conv9_9"), (("conv1_1", "texture"), "texture")])
def test_bad_parameters_are_refused_in_words(client, photo, args, bad):
    with pytest.raises(AppError) as err:
        client.predict(handle_file(photo), *args, api_name="/reconstruct")
    assert bad in str(err.value) and "Traceback" not in str(err.value)


def test_out_of_range_steps_are_refused(client, photo):
    with pytest.raises(AppError) as err:
        client.predict(handle_file(photo), "conv1_1", "content", 10_000, api_name="/reconstruct")
    assert "400" in str(err.value) and "Traceback" not in str(err.value)  # the maximum is named


def test_missing_image_is_refused_in_words(client):
    with pytest.raises(AppError) as err:
        client.predict(None, "conv1_1", "content", api_name="/reconstruct")
    assert "Please add the image" in str(err.value)


def test_activations_return_heat_maps_and_patches(client, photo):
    maps, patches, status = client.predict(handle_file(photo), "conv1_2", 3, api_name="/activations")
    assert len(maps) == 4 and "Done" in status  # the input and its three most active channels
    grid = Image.open(patches)
    assert grid.width > 4 * 72 and grid.height > 4 * 72  # four channels, several patches each


def test_the_tab_publishes_reconstruct_and_figure(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert [p["parameter_name"] for p in api["/reconstruct"]["parameters"][:3]] == ["image", "layer", "mode"]
    assert all(p["parameter_has_default"] for p in api["/reconstruct"]["parameters"][1:])
    assert "/figure" in api


def test_a_job_leaves_no_timer_behind_and_examples_open_once(photo):
    """In-process: the wall-clock Timer ends with its job, and the example pictures for the patch
    search are opened once per server, not on every click."""
    import threading

    from nst.ui import explore as tab
    *_, last = tab.reconstruct(photo, "conv1_1", "content", steps=2, size=32)
    assert "Done" in last[1]
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]
    tab._example_images.cache_clear()
    for _ in range(2):
        *_, out = tab.activations(photo, "conv1_1", 2)
    assert tab._example_images.cache_info().misses == 1 and "Done" in out[2]

"""A small load test in CI: concurrent visitors, some pressing Stop, some sending hostile files.

Every job ends as expected (painted, stopped as the server itself reports, or refused in words),
no run is left behind on the server (its own counters), its temp files stay bounded, and visitors
never see each other's pictures. The full 8 x 3 run is bench/load_test.py (numbers in README).
"""
import gc
import sys
import threading
import types
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from corpus import photo
from live_server import live_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from load_test import CANCEL_STEPS, run_load  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with live_server() as s:
        yield s


def test_concurrent_visitors_cancelling_and_sending_bad_files(server):
    url, proc, tmp = server
    r = run_load(url, proc.pid, tmp, clients=4, jobs=2, size=64, steps=6, timeout=240)
    bad = [(j["kind"], j["result"], j["message"]) for j in r["jobs"] if not j["expected"]]
    assert not bad, bad
    c = r["counts"]
    assert c["completed"] >= 3 and c["refused"] >= 1 and c["failed"] == 0, c
    # Stopped, as the server says it: each stopped job's own final frame reads "Stopped" after a
    # few of its 400 steps, soon after the Stop (a server that ignored Stop would say "Done")
    stops = [j for j in r["jobs"] if j["kind"] == "cancel"]
    assert len(stops) == 2 and c["cancelled"] == 2, stops
    assert all(j["steps"] < CANCEL_STEPS / 4 and j["cancel_to_end_s"] < 15 for j in stops), stops
    # RSS only as a guard against a runaway: 8 leaked 64 px runs would hold a few MB, far inside
    # its noise; the leak check counts what the server holds (the next test).
    assert r["rss_mb"]["after"] - r["rss_mb"]["before"] < 250, r["rss_mb"]
    # Temp files: each job leaves at most its uploads and a few frames, never a growing pile.
    assert r["temp"]["files_after"] - r["temp"]["files_before"] <= 8 * 20, r["temp"]


@pytest.fixture(scope="module")
def in_process():
    """The real app served from this process, so the test can count what it holds."""
    from test_app import serving
    with serving() as url:
        yield url


def server_counters() -> dict:
    """What the server holds of its runs, after a garbage collection: runs registered as painting,
    live sliders, the run generators (engine, page stream) still alive, the engine's per-run
    objects (objective with its targets, descent with the picture and the optimiser state), and
    the bytes of every live tensor (the network's weights included: a constant)."""
    import torch

    from nst import engine
    from nst.descent import Descent
    from nst.objective import Objective
    from nst.ui import runs, stream
    gc.collect()
    codes = {engine.stylize.__code__, engine._steps.__code__, stream.paint_run.__code__}
    gens = objs = tensor_bytes = 0
    for o in gc.get_objects():
        kind = type(o)  # not isinstance: that reads __class__, which some lazy modules warn about
        if kind is types.GeneratorType and o.gi_code in codes:
            gens += 1
        elif kind in (Objective, Descent):
            objs += 1
        elif issubclass(kind, torch.Tensor):
            tensor_bytes += o.numel() * o.element_size()
    return {"runs": runs.RUNS.count(), "steerings": len(runs.STEERINGS._by_session), "generators": gens,
            "run_objects": objs, "tensor_mb": tensor_bytes / 2**20}


def test_no_run_is_left_behind_on_the_server(in_process, tmp_path):
    """After the same 8 jobs (2 stopped at their first frame, 2 refused) the server holds nothing
    of any of them: counted where it lives, not guessed from RSS. One leaked 64 px run would
    leave a generator, its objective and descent, and its targets and picture (over 1 MB)."""
    import os
    r = run_load(in_process, os.getpid(), tmp_path, clients=4, jobs=2, size=64, steps=6, timeout=240,
                 probe=server_counters)
    assert not [(j["kind"], j["result"], j["message"]) for j in r["jobs"] if not j["expected"]]
    before, after = r["server"]["before"], r["server"]["after"]
    assert {k: after[k] for k in ("runs", "steerings", "generators", "run_objects")} == \
        {"runs": 0, "steerings": 0, "generators": 0, "run_objects": 0}, (before, after)
    assert after["tensor_mb"] - before["tensor_mb"] < 0.5, (before, after)


def test_two_visitors_at_once_each_get_their_own_picture(server, tmp_path):
    url = server[0]
    wide, tall = tmp_path / "wide.png", tmp_path / "tall.png"
    photo(96, 48, seed=1).save(wide)
    photo(48, 96, seed=2).save(tall)
    style = tmp_path / "style.png"
    photo(40, 40, seed=3).save(style)
    results = {}

    def visit(name, path):
        c = Client(url, verbose=False)
        out = c.predict(handle_file(str(path)), handle_file(str(style)), size=64, steps=4,
                        api_name="/stylize")
        results[name] = Image.open(out[0]).size

    threads = [threading.Thread(target=visit, args=a) for a in (("wide", wide), ("tall", tall))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert results == {"wide": (64, 32), "tall": (32, 64)}


def test_visitors_shown_the_same_picture_at_once_each_receive_it_whole():
    """Visitors shown the same picture at the same moment (the first frame of the same example)
    each download it whole. Each of 6 visitors' 5 jobs shows one 384 px picture 20 times through
    files.Shown, as the app's live picture is shown. Handed to Gradio as PIL pictures, which it
    rewrites under one path named by their bytes, 1 to 6 of these 30 jobs broke off mid-download."""
    import gradio as gr
    import numpy as np

    from nst.ui import files
    from test_app import free_port
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (384, 384, 3), dtype=np.uint8))

    def job(_):
        with files.Shown() as show:
            for _ in range(20):
                yield show(picture)

    with gr.Blocks() as blocks:
        box, out = gr.Textbox(), gr.Image(format="jpeg")
        box.submit(job, box, out, api_name="show")
    _, url, _ = blocks.queue(default_concurrency_limit=8).launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    errors, done = [], []

    def visitor():
        client = Client(url, verbose=False)
        for _ in range(5):
            try:
                client.submit("go", api_name="/show").result(timeout=60)
                done.append(1)
            except Exception as e:  # noqa: BLE001 (each broken job is the finding)
                errors.append(str(e)[:120])

    try:
        threads = [threading.Thread(target=visitor) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        blocks.close()
    assert not errors and len(done) == 30, (len(done), errors[:3])

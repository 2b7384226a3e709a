"""The app's HTTP API, driven as a visitor's script would: gradio_client against a real server.

Tiny images and runs: 64 px outputs, so each call takes a second or two on a 2-core CPU.
"""
from __future__ import annotations

import re
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import app
from waiting import wait_until
from nst.ui import contract, limits, paint, progress, runs

TINY = dict(size=64, steps=120, pyramid=False)  # long enough for several 0.3 s frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving():
    """The real app (its queue, limits, warm-up) in this process on a free local port: its URL."""
    _, url, _ = app.launch(app.demo, prevent_thread_lock=True, server_name="127.0.0.1",
                           server_port=free_port(), quiet=True)
    try:
        yield url
    finally:
        app.demo.close()


@pytest.fixture(scope="module")
def server():
    with serving() as url:
        yield url


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
    image, status, details = result[0], result[1], result[2]
    out = Image.open(image)
    assert "Done" in status and f"{out.width}×{out.height} px" in status  # the size it says it took
    assert max(out.size) % 32 == 0 and max(out.size) >= 128  # planned for the quick budget
    assert "steps" in details and "seed" in details  # the plan taken, to repeat the run
    photo = np.asarray(Image.open(images["photo"]).convert("RGB").resize(out.size), float)
    assert np.abs(np.asarray(out.convert("RGB"), float) - photo).mean() > 5  # it was painted


def test_stylize_streams_distinct_frames_then_the_final_image(server, images):
    job = _submit(server, images, **TINY)
    _wait(job)
    outputs = job.outputs()
    frames = [Image.open(o[0]).tobytes() for o in outputs[:-1]]
    assert len(set(frames)) >= 3, f"only {len(set(frames))} distinct frames were streamed"
    assert "step" in outputs[0][1] and "left" in outputs[0][1]  # the status line while painting
    final_image, final_status, details, _, before_after, png = outputs[-1][:6]
    assert "s per step" in details  # device, precision and optimiser go to the details line
    assert "Done" in final_status
    full = Image.open(png["value"] if isinstance(png, dict) else png)
    assert full.format == "PNG" and max(full.size) == 64


def test_cancel_ends_the_run_and_frees_the_device(server, images, monkeypatch):
    """A client's cancel stops the run on the server itself: the engine paints no more frames
    and is closed within seconds (watched where it runs, not from the client, whose stream ends
    at the cancel whatever the server does), and the next job gets the device at once."""
    made, closed = [], []  # (time, step) of each frame the engine makes; when it was closed
    engine = runs.stylize

    def watched(*args, **kwargs):
        try:
            for f in engine(*args, **kwargs):
                made.append((time.monotonic(), f.step))
                yield f
        finally:
            closed.append(time.monotonic())

    monkeypatch.setattr(runs, "stylize", watched)
    job = _submit(server, images, size=96, steps=800, pyramid=False)
    wait_until(lambda: len(job.outputs()) >= 2 or job.done(), 120, "the run's second frame")
    status = job.outputs()[-1][1]
    step, planned = map(int, re.search(r"step (\d+) of (\d+)", status).groups())
    assert not job.done() and "Painting" in status and step < planned, status
    cancelled = time.monotonic()
    job.cancel()
    _wait(job, 30)
    end = time.monotonic() + 5
    while (runs.RUNS.count() or not closed) and time.monotonic() < end:
        time.sleep(0.05)
    assert closed and closed[0] - cancelled < 5, "the run was not closed within 5 s of the cancel"
    assert runs.RUNS.count() == 0, "a run is still registered as painting"
    after = [s for t, s in made if t > cancelled]
    # the frame in flight at the cancel and at most one more (frames come every 0.3 s or step)
    assert len(after) <= 2 and made[-1][1] < planned, (after, step, planned)
    seen = len(made)
    time.sleep(1.0)  # a run that went on would make a frame every 0.3 s
    assert len(made) == seen and not [s for t, s in made if t > closed[0]], made[-3:]
    status = job.outputs()[-1][1]  # the last frame streamed: mid-run, never the final one
    assert "Painting" in status and "Done" not in status and "Stopped" not in status, status
    submitted = time.monotonic()
    again = _submit(server, images, size=64, steps=5, pyramid=False)  # ... and the slot is free
    wait_until(lambda: again.outputs() or again.done(), 30, "the next job's first frame")
    assert time.monotonic() - submitted < 10, "the next job did not get the device promptly"
    _wait(again, 30)
    assert "**Done**" in again.outputs()[-1][1] and "5 steps" in again.outputs()[-1][1], again.outputs()[-1][1]


@pytest.mark.parametrize("params, words", [
    (dict(w_conv1_1=0, w_conv2_1=0, w_conv3_1=0, w_conv4_1=0, w_conv5_1=0), "style layer"),
    (dict(size=32), "size"),
])
def test_bad_parameters_get_a_readable_error(server, images, params, words):
    client = Client(server, verbose=False)
    with pytest.raises(AppError) as err:
        client.predict(handle_file(images["photo"]), handle_file(images["paint"]), api_name="/stylize", **params)
    assert words.lower() in str(err.value).lower() and "Traceback" not in str(err.value)


def test_a_file_that_is_not_an_image_is_refused_in_words(server, images):
    client = Client(server, verbose=False)
    with pytest.raises(AppError) as err:
        client.predict(handle_file(images["text"]), handle_file(images["paint"]), api_name="/stylize")
    assert "not an image" in str(err.value)


# The whole API (README): Paint's /stylize, Video's /video and the four Explore figures. Every
# other handler (Stop, the sliders, uploads, Refine, the galleries...) is the page's alone.
API = {"/stylize", "/video", "/activations", "/reconstruct", "/ratio_row", "/figure"}
# Hidden from the API page but callable: Gradio's gr.Examples in Explore ('undocumented' by default;
# it only returns an example's own file). api_visibility="private" there would take it off this list.
UNDOCUMENTED = {"/load_example"}


def test_stop_is_not_a_public_endpoint(server):
    """Exactly the API's endpoints are named, and no other handler can be called by a client
    (an 'undocumented' one is hidden from the API page yet callable: it counts too)."""
    import httpx

    api = Client(server, verbose=False).view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == API and not api["unnamed_endpoints"], sorted(api["named_endpoints"])
    callable_ = httpx.get(server + "gradio_api/info", params={"all_endpoints": "true"}).json()
    assert set(callable_["named_endpoints"]) == API | UNDOCUMENTED and not callable_["unnamed_endpoints"], \
        sorted(callable_["named_endpoints"])


def test_every_api_value_has_a_name(server):
    """No input or output of a public endpoint is listed by its id ('parameter_83', 'value_74')."""
    api = Client(server, verbose=False).view_api(return_format="dict", print_info=False)
    unnamed = re.compile(r"(value|parameter|param)_\d+")
    names = [(ep, kind, p.get("parameter_name") or "", p["label"]) for ep, info in api["named_endpoints"].items()
             for kind in ("parameters", "returns") for p in info[kind]]
    assert len(names) > 40 and not [n for n in names if unnamed.fullmatch(n[2]) or unnamed.fullmatch(n[3])]
    stylize = [p["parameter_name"] for p in api["named_endpoints"]["/stylize"]["parameters"]]
    assert stylize == contract.API_PARAMS and stylize[:2] == ["content", "style"]  # README's positions


def test_the_api_pages_sample_pictures_are_examples_this_server_serves_and_takes(server):
    """The sample code sends a photo and a painting of examples/ by this server's URL; the server reads
    them from disk (its SSRF guard refuses to fetch its own loopback address)."""
    import httpx

    info = httpx.get(server + "gradio_api/info").json()["named_endpoints"]["/stylize"]["parameters"]
    urls = [p["example_input"]["url"] for p in info[:2]]
    examples = Path(__file__).resolve().parents[1] / "examples"
    for url, local in zip(urls, ("photos/chelsea.jpg", "styles/starry_night.jpg")):
        assert url.startswith(server) and httpx.get(url).content == (examples / local).read_bytes()
    client = Client(server, verbose=False)
    result = client.predict(*map(handle_file, urls), size=64, steps=5, pyramid=False, api_name="/stylize")
    assert "Done" in result[1] and "64×4" in result[1], result[1]  # chelsea.jpg is 451×300
    # /video's sample: the example clip and painting, not Gradio's stock video of the world
    info = httpx.get(server + "gradio_api/info").json()["named_endpoints"]["/video"]["parameters"]
    urls = [p["example_input"]["url"] for p in info[:2]]
    for url, local in zip(urls, ("clips/chelsea_pan.mp4", "styles/starry_night.jpg")):
        assert url.startswith(server) and httpx.get(url).content == (examples / local).read_bytes()
    _, status, clip, _ = client.predict(*map(handle_file, urls), seconds=10, size=64, api_name="/video")
    assert "Done" in status and "12 frames" in status and Path(clip["value"]).stat().st_size > 1000, status


def test_refine_continues_from_the_result_at_a_larger_size(images, tmp_path):
    """Refine (page only) starts from the painted result at 1.5x the size, with the photo still the
    content target: its first frame already looks like the result, not like the photo."""
    import types

    request = types.SimpleNamespace(session_hash="refine-test")
    values = dict(contract.API_DEFAULTS, content=images["photo"], style=images["paint"], size=64, steps=30,
                  pyramid=False, seconds=4)
    painted = _pictures(contract.stylize(**values, request=request))[-1]
    result = tmp_path / "result.png"
    painted.save(result)
    refine = _pictures(paint.refine(request, str(result), *[values[p] for p in contract.API_PARAMS]))
    first, refined = refine[0], refine[-1]
    assert refined.size == (96, 72)  # 1.5x of 64x48
    a = lambda im: np.asarray(im.convert("RGB").resize((64, 48)), dtype=float)  # noqa: E731
    photo = Image.open(images["photo"])
    assert np.abs(a(first) - a(painted)).mean() < 0.5 * np.abs(a(first) - a(photo)).mean()


def _pictures(job) -> list:
    """The live pictures a page handler shows, opened as they come: each is a file the handler
    deletes once Gradio would have copied it."""
    return [Image.open(out[0]).convert("RGB") for out in job if isinstance(out[0], str)]


def test_the_api_page_lists_stylize_first_with_this_machines_limits(server):
    info = Client(server, verbose=False).view_api(return_format="dict", print_info=False)
    assert list(info["named_endpoints"])[0] == "/stylize"
    doc = contract.stylize.__doc__
    assert "MAX_" not in doc and f"1 to {limits.LIMITS.max_steps}" in doc
    assert f"{limits.LIMITS.min_size} to {limits.LIMITS.max_size}" in doc and f"{limits.MAX_SECONDS:.0f} s" in doc
    described = {p["parameter_name"]: p["python_type"]["description"]
                 for p in info["named_endpoints"]["/stylize"]["parameters"]}
    assert all(described.values()), [k for k, v in described.items() if not v]  # one line each
    assert f"{limits.LIMITS.min_size} to {limits.LIMITS.max_size}" in described["size"]


@pytest.mark.parametrize("name, value", [("seed", float("inf")), ("steps", float("nan")),
                                         ("ratio_exp", 400), ("size", "1e999"), ("seconds", float("inf"))])
def test_numbers_too_large_for_a_float_are_refused_in_words(images, name, value):
    """inf, nan and 10**400 end in a sentence naming the parameter, not an OverflowError."""
    p = dict(contract.API_DEFAULTS, content=images["photo"], style=images["paint"], **{name: value})
    with pytest.raises(ValueError, match=name):
        contract.inputs(p)


def test_zerogpu_asks_for_the_runs_own_budget():
    from nst import Settings

    assert runs.gpu_seconds(None, None, Settings(seconds=45)) == 45 + limits.START_UP
    assert runs.gpu_seconds(None, None, Settings(steps=100)) == limits.MAX_SECONDS + limits.START_UP


def test_a_third_painting_without_a_second_gets_its_own_weight(images):
    """Blend weights follow their slots: painting 3 takes blend_3, never blend_2."""
    p = dict(contract.API_DEFAULTS, content=images["photo"], style=images["paint"], style_3=images["paint"],
             blend_1=0.3, blend_2=0.9, blend_3=0.6)
    _, styles, s, _, _ = contract.inputs(p)
    assert len(styles) == 2 and s.style_blend == (0.3, 0.6)


def test_a_wide_panorama_keeps_a_usable_short_side_and_says_so(tmp_path):
    wide = tmp_path / "wide.png"
    Image.new("RGB", (3000, 400), (90, 140, 200)).save(wide)
    p = dict(contract.API_DEFAULTS, content=str(wide), style=str(wide), size=256)
    _, _, s, note, _ = contract.inputs(p)
    w, h = nst_fit(3000, 400, s.size)
    assert h >= 80 and w * h <= 1.05 * 256 ** 2  # no sliver, no more pixels
    assert "wide" in note and f"{w}×{h}" in note
    # a budget plans by pixels and time: the panorama gets about a square's pixels (on a machine
    # given by numbers, whose sizes stay under every cap), and is told so
    _, _, s, note, _ = contract.inputs(dict(p, size=0))
    from nst import Settings
    from nst.budget import plan, side_pixels
    from speeds import fake_speed

    sp = fake_speed(fp32=2.0)
    pano, square = (plan(Settings(seconds=15), wh, 15, sp, max_size=4096) for wh in ((3000, 400), (1000, 1000)))
    assert 0.6 <= side_pixels((3000, 400), pano.size) / side_pixels((1, 1), square.size) <= 1.6
    assert min(nst_fit(3000, 400, pano.size)) >= 64 and "wide" in note


def nst_fit(w, h, side):
    from nst.images import fit_size
    return fit_size(w, h, side)


def test_the_loss_chart_has_no_jump_at_a_level_change(server, images):
    """Across the 128 -> 256 px level change each line continues where it was, all three lines
    are drawn, the legend sits inside the frame and the level change is marked."""
    job = _submit(server, images, size=256, steps=24, pyramid=True)
    _wait(job)
    chart = job.outputs()[-1][3]
    spec = __import__("json").loads(chart["plot"])
    assert_no_jump(spec)


def assert_no_jump(spec: dict, finer: int = 256):
    """`finer`: the size of the level the run changes to (marked on the chart)."""
    rows = progress.chart_rows(spec)
    marks = [m for layer in spec["layer"][1:] for m in layer["data"]["values"]]
    assert marks and marks[0]["label"] == f"{finer} px"
    start = marks[0]["step"]
    for term in progress.TERMS:
        line = sorted((r["step"], r["value"]) for r in rows if r["term"] == term)
        assert len(line) >= 4, term
        before = [v for st, v in line if st < start][-1]
        after = [v for st, v in line if st >= start][0]
        steps = [abs(np.log(b / a)) for (_, a), (_, b) in zip(line, line[1:])]
        assert abs(np.log(after / before)) <= max(0.05, 2 * np.median(steps)), (term, before, after)
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert legend["orient"] in ("top-left", "top-right", "bottom-left", "bottom-right")


def test_the_documented_curl_example_paints(server, tmp_path):
    """The HTTP API reference's curl example, run as written (only the host changed) against the
    live server."""
    import re
    import shutil
    import subprocess
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "reference" / "http-api.md").read_text()
    script = re.search(r"<!-- curl-example -->\n```bash\n(.*?)```", doc, re.S)[1]
    examples = Path(__file__).resolve().parents[1] / "examples"
    shutil.copy(examples / "photos" / "chelsea.jpg", tmp_path / "photo.jpg")
    shutil.copy(examples / "styles" / "starry_night.jpg", tmp_path / "painting.jpg")
    out = subprocess.run(["bash", "-c", script.replace("http://127.0.0.1:7860/", server)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    events = out.stdout.split("event: ")
    assert events[-1].startswith("complete"), out.stdout[-800:]
    assert "**Done**" in events[-1] and ".png" in events[-1]  # the final status and the PNG
    assert sum(e.startswith("generating") for e in events) >= 3  # frames streamed before it


def test_settings_validate_holds_the_servers_caps():
    from nst import Settings
    from nst.settings import Limits
    with pytest.raises(ValueError, match="from 16 to 300"):
        Settings(size=512).validate(limits=Limits(max_size=300))
    with pytest.raises(ValueError, match="tv_weight must be at most 10"):
        Settings(tv_weight=11.0).validate(limits=limits.LIMITS)
    Settings(size=512).validate()  # the library's own bounds allow it


def test_the_library_never_imports_the_ui():
    import subprocess
    import sys
    code = "import sys, nst, nst.cli, nst.explore; assert 'gradio' not in sys.modules, 'gradio was imported'"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]


def test_a_tiny_brushed_region_paints_instead_of_a_bare_error(server, tmp_path):
    """A 4 px dot brushed on a 1024 px photo used to end the run with a bare error on the page."""
    photo = Image.open(Path(__file__).resolve().parents[1] / "examples" / "photos" / "chelsea.jpg")
    photo.convert("RGB").resize((1024, 681)).save(tmp_path / "photo.png")
    mask = Image.new("L", (1024, 681), 0)
    mask.paste(255, (500, 300, 504, 304))
    mask.save(tmp_path / "mask.png")
    Image.new("RGB", (64, 64), (30, 60, 200)).save(tmp_path / "paint.png")
    client = Client(server, verbose=False)
    result = client.predict(handle_file(str(tmp_path / "photo.png")), handle_file(str(tmp_path / "paint.png")),
                            api_name="/stylize", size=512, steps=6, mask=handle_file(str(tmp_path / "mask.png")))
    assert "**Done**" in result[1] and "512×340 px" in result[1], result[1]

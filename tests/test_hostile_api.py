"""The hostile corpus and out-of-range values through the real server's /stylize API.

Every odd file gets a correct picture or a refusal in words (never Gradio's bare "Error"), and
after each one the server still paints the next normal request.
"""
import base64

import httpx
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from corpus import by_name, corpus, encode, photo
from live_server import live_server
from nst.images import fit_size
from nst.intake import ImageError, open_image

GENERIC = "has not enabled verbose error reporting"  # what a visitor sees for an unhandled error
TINY = dict(size=64, steps=3)


@pytest.fixture(scope="module")
def server():
    with live_server() as (url, proc, tmp):
        yield url, proc, tmp


@pytest.fixture(scope="module")
def client(server):
    return Client(server[0], verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    for case in corpus():
        (d / case.name).write_bytes(case.data)
    (d / "style.jpg").write_bytes(encode(photo(48, 48, seed=3), "JPEG"))
    return d


def paint(client, content, style, **kw):
    out = client.predict(handle_file(str(content)), handle_file(str(style)),
                         **{**TINY, **kw}, api_name="/stylize")
    return Image.open(out[0]), out[1]


def refusal(client, content, style, **kw) -> str:
    with pytest.raises(Exception) as e:
        paint(client, content, style, **kw)
    msg = str(e.value)
    assert GENERIC not in msg and "Traceback" not in msg, msg
    return msg


def assert_still_serving(client, files):
    img, status = paint(client, files / "photo.jpg", files / "style.jpg")
    assert img.size == (64, 48) and "Done" in status


@pytest.mark.parametrize("case", corpus(), ids=lambda c: c.name)
def test_corpus_file_through_the_api(case, client, files):
    path = files / case.name
    if case.reason:
        expected = None
        try:
            open_image(case.data)
        except ImageError as e:
            expected = str(e)
        assert expected and expected in refusal(client, path, files / "style.jpg")
        # ... the same file as the style image is refused as well
        assert expected in refusal(client, files / "photo.jpg", path)
    else:
        img, status = paint(client, path, files / "style.jpg")
        assert img.size == fit_size(*case.size, 64), status  # EXIF-rotated photos stay upright
    assert_still_serving(client, files)


ALL_LAYERS_OFF = dict(w_conv1_1=0, w_conv2_1=0, w_conv3_1=0, w_conv4_1=0, w_conv5_1=0)


@pytest.mark.parametrize("bad", [
    dict(steps=10**6), dict(size=10**5), dict(size=8), dict(steps=-5), dict(ratio_exp=1e9),
    dict(w_conv1_1=-1.0), ALL_LAYERS_OFF,
    dict(content_layer="../../etc/passwd"), dict(preset="ultra"), dict(style_scale=100.0),
    dict(lr=0.0), dict(seed=-1), dict(precision="fp64"), dict(colors="<script>"),
    dict(blend_1=5.0), dict(tv_weight=1e12),
], ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items())[:40])
def test_values_the_sliders_never_allow_are_refused_in_words(bad, client, files):
    """Refused in a short sentence that names the parameter refused, as the API calls it (the five
    layer weights at 0 together: the style layers), whichever layer refuses it (Gradio's own
    range and choice checks included)."""
    msg = refusal(client, files / "photo.jpg", files / "style.jpg", **bad)
    assert len(msg) < 300, msg
    name = "style layer" if bad == ALL_LAYERS_OFF else next(iter(bad))
    assert name.lower() in msg.lower(), f"the refusal does not name {name!r}: {msg}"
    assert_still_serving(client, files)


@pytest.mark.parametrize("kw, says", [
    (dict(seconds=1, size=768, steps=0), "1 s cannot hold a 768 px picture in "),
    (dict(seconds=1, size=0, steps=800), "800 steps do not fit in 1 s on this machine"),
], ids=["size", "steps"])
def test_a_budget_that_cannot_hold_the_size_or_steps_is_refused_in_words(kw, says, client, files):
    """Each value is inside its range, together they would end far past the time asked for: the
    server says so from its measured speed before any run, and says what to change."""
    msg = refusal(client, files / "photo.jpg", files / "style.jpg", **kw)
    assert says in msg and "leave the" in msg and "A longer preset gives more seconds." in msg, msg
    assert_still_serving(client, files)


def _raw_call(url: str, data: list) -> str:
    """A hand-written HTTP call, as a script would make it, bypassing gradio_client."""
    r = httpx.post(url + "gradio_api/call/stylize", json={"data": data}, timeout=60)
    if r.status_code != 200:
        return r.text
    return httpx.get(url + f"gradio_api/call/stylize/{r.json()['event_id']}", timeout=120).text


def _file(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def test_server_files_cannot_be_named_as_inputs(server, client, files):
    url = server[0]
    secret = server[2] / "server.log"  # a file the server can read but nobody uploaded
    for path in ("/etc/passwd", str(secret), "../../../../etc/passwd"):
        body = _raw_call(url, [_file(path), _file(path)])
        assert "event: error" in body and "root:" not in body
    assert_still_serving(client, files)


def test_an_inline_base64_bomb_is_refused_in_words(server, client, files):
    def inline(data):
        return {"url": "data:image/png;base64," + base64.b64encode(data).decode(), "path": None,
                "meta": {"_type": "gradio.FileData"}}
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/stylize"]
    given = {**TINY}
    rest = [given.get(p["parameter_name"], p["parameter_default"]) for p in params["parameters"][2:]]
    photo_ = inline(by_name("photo.jpg").data)
    body = _raw_call(server[0], [inline(by_name("bomb.png").data), photo_, *rest])
    assert "megapixels" in body and '"error": null' not in body
    body = _raw_call(server[0], [photo_, inline(by_name("webp.webp").data), *rest])
    assert "event: complete" in body
    assert_still_serving(client, files)


def test_a_thin_panorama_keeps_a_usable_short_side(client, files, tmp_path):
    # 8:1 is the thinnest intake accepts; at 64 px its short side would be 8 px, less than VGG-19's
    # deepest style layer can see (1/16 of the picture). It gets the pixels of a 64x64 square.
    pano = tmp_path / "pano.png"
    Image.new("RGB", (256, 32), (90, 140, 200)).save(pano)
    img, status = paint(client, pano, files / "style.jpg")
    assert img.size == (181, 23) and "times as wide" in status
    assert_still_serving(client, files)

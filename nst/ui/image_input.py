"""gr.Image for visitors' uploads: hands the app the uploaded file's path, unopened.

Gradio's own gr.Image preprocessing (gradio 6.31, image_utils.preprocess_image) calls
PIL.Image.open on every upload before app code runs, and with the default image_mode="RGB" it
fully decodes and converts any non-RGB file (transparency turns black, 16-bit turns white). A
non-image, an empty file or a bomb then fails inside Gradio, and the visitor sees a bare "Error".
This component skips all of that: nst.intake.open_image does the opening, with a message.
Gradio still checks, before preprocess, that the path was uploaded to its cache (so a caller
cannot name a server file), and launch(max_file_size=...) still bounds the upload.

With `example` (or with_example() for another input, such as the Video tab's clip), the API
page's sample code sends that file of examples/ (served by this app, see app.launch's
allowed_paths) instead of Gradio's stock picture of a bus or video of the world.
"""
from __future__ import annotations

import base64
import binascii
import functools
import os
import types
import uuid
import weakref
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import gradio as gr
from gradio.context import Context
from gradio.route_utils import API_PREFIX
from gradio_client import handle_file
from gradio_client.utils import is_http_url_like

from nst.intake import MAX_BYTES

from .examples import EXAMPLES

FILE_ROUTE = f"{API_PREFIX}/file="


def image_input(example: Path | None = None, **kwargs) -> gr.Image:
    """gr.Image(type="filepath") whose preprocess returns the uploaded file's path untouched;
    `example`: the file of examples/ that the API page's sample code sends.

    The methods are replaced on the instance rather than in a subclass: Gradio writes a .pyi stub
    next to the source of every Component subclass at import, which a deployed app should not do.
    """
    img = gr.Image(**{**kwargs, "type": "filepath", "image_mode": None})
    img.preprocess = types.MethodType(_preprocess, img)  # deepcopies of the block rebind it
    return with_example(img, example)


def with_example(block: gr.components.Component, example: Path | None = None):
    """A file input whose API sample sends `example` (a file of examples/, by this server's URL),
    and which reads such a URL from disk (_to_cache)."""
    block.async_move_resource_to_block_cache = types.MethodType(_to_cache, block)
    if example is not None:  # the app by a weak reference: the per-visitor copies of a block share it
        block.example_payload = functools.partial(_example_payload, example, weakref.ref(Context.root_block))
    return block


def _example_payload(path: Path, app: weakref.ref) -> dict:
    """The sample's file as a URL of this server (its address is known once it runs)."""
    host = os.environ.get("SPACE_HOST")  # a Hugging Face Space: its public address
    blocks = app()
    base = f"https://{host}" if host else blocks and (blocks.share_url or blocks.local_url)
    return handle_file(f"{base.rstrip('/')}{FILE_ROUTE}{quote(str(path))}" if base else path)


async def _to_cache(self, url_or_path):
    """Gradio fetches a URL input over HTTP, and its SSRF guard refuses this server's own loopback
    or private address, so the sample code would fail where it is most often run: an example
    file named by this server's URL is read from disk instead (anyone may fetch it anyway)."""
    move = type(self).async_move_resource_to_block_cache
    return await move(self, _example_file(url_or_path) or url_or_path)


def _example_file(url) -> str | None:
    if not isinstance(url, str) or not is_http_url_like(url):
        return None
    _, found, path = urlparse(url).path.partition(FILE_ROUTE)
    local = Path(unquote(path)).resolve()
    return str(local) if found and local.is_file() and local.is_relative_to(EXAMPLES) else None


def _preprocess(self: gr.Image, payload) -> str | None:
    if payload is None:
        return None
    url = payload.url or ""
    if url.startswith("data:"):  # hand-written API calls may inline the file as base64
        return _save_data_url(url, Path(self.GRADIO_CACHE))
    if not payload.path:
        raise gr.Error("No image was received; please upload it again.", title="Image refused")
    return str(payload.path)


def _save_data_url(url: str, cache: Path) -> str:
    b64 = url.partition(",")[2]
    if len(b64) > MAX_BYTES * 4 // 3 + 4:
        raise gr.Error(f"The image is larger than {MAX_BYTES // 2**20} MB; please upload a "
                       "smaller one.", title="Image refused")
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise gr.Error("The image data could not be read; please upload the file again.",
                       title="Image refused") from None
    folder = cache / "inline"  # inside Gradio's cache, so delete_cache clears it too
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.img"
    path.write_bytes(data)
    return str(path)

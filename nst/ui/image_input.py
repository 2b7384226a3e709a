"""gr.Image for visitors' uploads: hands the app the uploaded file's path, unopened.

Gradio's own gr.Image preprocessing (gradio 6.31, image_utils.preprocess_image) calls
PIL.Image.open on every upload before app code runs, and with the default image_mode="RGB" it
fully decodes and converts any non-RGB file (transparency turns black, 16-bit turns white). A
non-image, an empty file or a bomb then fails inside Gradio, and the visitor sees a bare "Error".
This component skips all of that: nst.intake.open_image does the opening, with a message.
Gradio still checks, before preprocess, that the path was uploaded to its cache (so a caller
cannot name a server file), and launch(max_file_size=...) still bounds the upload.
"""
from __future__ import annotations

import base64
import binascii
import types
import uuid
from pathlib import Path

import gradio as gr

from nst.intake import MAX_BYTES


def image_input(**kwargs) -> gr.Image:
    """gr.Image(type="filepath") whose preprocess returns the uploaded file's path untouched.

    The method is replaced on the instance rather than in a subclass: Gradio writes a .pyi stub
    next to the source of every Component subclass at import, which a deployed app should not do.
    """
    img = gr.Image(**{**kwargs, "type": "filepath", "image_mode": None})
    img.preprocess = types.MethodType(_preprocess, img)  # deepcopies of the block rebind it
    return img


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

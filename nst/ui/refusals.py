"""What a visitor reads when something is refused or breaks: one sentence, never a traceback."""
from __future__ import annotations

import traceback

import gradio as gr
from PIL import Image

from ..intake import ImageError, open_image
from .limits import WORK_SIDE


def sentence(err: Exception) -> str:
    """A ValueError's text as a sentence: capital first letter, full stop."""
    s = str(err).strip()
    s = s[:1].upper() + s[1:]
    return s if s.endswith((".", "!", "?")) else s + "."


def refuse(err: Exception, title: str = "Please check the settings") -> gr.Error:
    return gr.Error(sentence(err), title=title, print_exception=False)


def failure(err: Exception) -> gr.Error:
    """What the visitor reads when a run breaks; the cause stays in the server log."""
    if isinstance(err, (ValueError, FloatingPointError)):
        return gr.Error(sentence(err), title="The run stopped", print_exception=False)
    if "out of memory" in str(err).lower():
        return gr.Error("The machine ran out of memory; try a smaller size.", title="Out of memory")
    traceback.print_exception(err)  # the cause stays in the server log; the visitor gets a sentence
    return gr.Error("This run failed on the server; please try a smaller size or other images.",
                    title="The run stopped")


def picture(name: str, path, required: bool = True, max_side: int = WORK_SIDE) -> Image.Image | None:
    """An uploaded image, or ValueError with a sentence that names which one was refused."""
    if path in (None, ""):
        if required:
            raise ValueError(f"please add {name}")
        return None
    try:
        return open_image(path, max_side=max_side)  # big JPEGs decode at 1/2..1/8 scale
    except ImageError as e:
        raise ImageError(f"{name[:1].upper()}{name[1:]}: {e}", e.reason) from None


def upload_note(path) -> str:
    """Checked the moment a file lands in an image box: '' if it is fine, else the sentence."""
    if path in (None, ""):
        return ""
    try:
        open_image(path, max_side=64)
    except ImageError as e:
        return f"⚠️ {e}"
    return ""

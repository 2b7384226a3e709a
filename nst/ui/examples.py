"""The example photos and paintings, and the thumbnail galleries that pick them."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PHOTOS = sorted((EXAMPLES / "photos").glob("*.jpg"))
# The famous paintings first, then the project's own procedural ones.
FAMOUS = ("starry_night", "the_scream", "shipwreck", "woman-with-hat-matisse")
STYLES = sorted((EXAMPLES / "styles").glob("*.jpg"), key=lambda p: (p.stem not in FAMOUS, p.stem))
# The pair the API page's sample code paints.
SAMPLE_PHOTO, SAMPLE_PAINTING = EXAMPLES / "photos" / "chelsea.jpg", EXAMPLES / "styles" / "starry_night.jpg"


def thumbs(files, label):
    """Each thumbnail's caption (hidden by the page's CSS) is its name: the picture's alt text, and
    app.HEAD makes it the button's name and tooltip."""
    return gr.Gallery([(str(p), p.stem.replace("-", " ").replace("_", " ")) for p in files], label=label,
                      show_label=False, container=False, columns=5, height="auto", min_width=120,
                      allow_preview=False, object_fit="cover", elem_classes="thumbs", buttons=[])


def picker(files):
    def pick(evt: gr.SelectData):
        return str(files[evt.index])
    return pick

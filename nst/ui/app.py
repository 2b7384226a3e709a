"""The page: both tabs, their look, the queue, and launch() with this server's limits."""
from __future__ import annotations

import os
import sys

import gradio as gr
from PIL import Image

from ..engine import run as run_once
from ..settings import Settings
from . import explore, paint, run

CSS = """
.gradio-container {max-width: 1180px !important; margin: auto}
#title h1 {margin-bottom: 0}
#title p {margin-top: .2em; opacity: .8}
#status p, #details p {margin: .2em 0; font-variant-numeric: tabular-nums}
#details p {font-size: .85em; opacity: .75}
#live img {width: 100%; height: 100%; object-fit: contain}
#losses .altair, #losses .altair > div:first-child {width: 100% !important}
#losses details {display: none}
.refusal p {color: var(--error-text-color, #b91c1c); font-size: .9em; margin: .2em 0}
.caption p {font-size: .85em; opacity: .8; margin: .2em 0}
.thumbs .grid-wrap {min-height: 0 !important; max-height: none !important}
.thumbs .grid-container {grid-template-columns: repeat(auto-fill, minmax(44px, 1fr)) !important;
                         grid-auto-rows: auto !important; gap: 4px !important}
.thumbs .thumbnail-item {width: 100% !important; height: auto !important; aspect-ratio: 1}
.thumbs .caption-label {display: none}
.captions .caption-label {white-space: normal !important; overflow: visible !important;
                          text-overflow: clip !important; font-size: .8em}
@media (max-width: 640px) {
  .app {padding-left: 8px !important; padding-right: 8px !important}
  #title h1 {font-size: 1.35em}
}
"""


def build() -> gr.Blocks:
    with gr.Blocks(title="Live neural style transfer", delete_cache=(900, 3600)) as blocks:
        gr.Markdown(
            "# Live neural style transfer\n"
            "Drop in a photo and a painting (or click an example under each), press **Paint**, and "
            "watch the photo being painted, step by step: "
            "[Gatys, Ecker & Bethge (2015)](https://arxiv.org/abs/1508.06576) "
            f"on the original VGG-19, running on this machine's **{'GPU' if run.GPU else 'CPU'}**.",
            elem_id="title")
        with gr.Tab("Paint"):
            content, style = paint.build()  # first, so /stylize heads the API page
        with gr.Tab("Explore"):
            explore.build(content, style)
    blocks.queue(max_size=run.QUEUE_SIZE, default_concurrency_limit=1)
    return blocks


def _warm_up():
    """Load the weights, measure this machine (nst.machine: a few seconds the first time, then
    cached) and let the math libraries set up their kernels now, so a visitor's first frame is
    not the one that pays for it."""
    run.speed()
    tiny = Image.new("RGB", (64, 48), (120, 90, 60))
    run_once(tiny, tiny, Settings(size=64, steps=2, pyramid=False))


def launch(demo: gr.Blocks, **overrides):
    """Start the server with this app's limits (tests pass prevent_thread_lock etc.)."""
    share = "--share" in sys.argv or os.environ.get("GRADIO_SHARE", "").lower() in ("1", "true")
    kwargs = dict(max_file_size=f"{run.MAX_FILE_MB}mb", css=CSS, share=share or None,
                  theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="amber"))
    _warm_up()
    return demo.launch(**{**kwargs, **overrides})

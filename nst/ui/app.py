"""The page: both tabs, their look, the queue, and launch() with this server's limits."""
from __future__ import annotations

import os
import sys

import gradio as gr
from gradio.utils import get_function_params
from PIL import Image

from ..engine import run as run_once
from ..settings import Settings
from . import explore, limits, paint, video
from .examples import EXAMPLES

CSS = """
.gradio-container {max-width: 1180px !important; margin: auto}
#title h1 {margin-bottom: 0}
#title p {margin-top: .2em; opacity: .8}
#status p, #details p {margin: .2em 0; font-variant-numeric: tabular-nums}
#details p {font-size: .85em; opacity: .75}
#live img {width: 100%; height: 100%; object-fit: contain}
/* waiting for its first frame, the live box keeps showing the picture it starts from (Refine's
   result) under a light veil, not Gradio's opaque one */
#live > .wrap.full:not(.generating):not(.hide) {background: rgba(255, 255, 255, .35) !important}
#losses .altair, #losses .altair > div:first-child {width: 100% !important}
#losses details {display: none}
#losses canvas {max-width: 100% !important}  /* else on a phone the chart widens the page by 12 px */
.refusal p {color: var(--error-text-color, #b91c1c); font-size: .9em; margin: .2em 0}
.caption p {font-size: .85em; opacity: .8; margin: .2em 0}
.thumbs .grid-wrap {min-height: 0 !important; max-height: none !important}
.thumbs .grid-container {grid-template-columns: repeat(auto-fill, minmax(44px, 1fr)) !important;
                         grid-auto-rows: auto !important; gap: 4px !important}
.thumbs .thumbnail-item {width: 100% !important; height: auto !important; aspect-ratio: 1}
.thumbs .caption-label {display: none}
/* Explore's figures: shown at the page's width (their cells larger than painted), the picture's
   buttons in a row above it, never over a cell */
.explore-grid .icon-button-wrapper {position: static !important; width: max-content; margin: 0 0 6px auto !important}
.explore-grid .image-frame, .explore-grid img {width: 100% !important; height: auto !important;
                                              max-height: none !important; object-fit: contain !important}
/* Explore's channel maps: each caption under its picture, not over its corner; every row shown */
.captions .grid-wrap {min-height: 0 !important; max-height: none !important}
.captions .thumbnail-item {height: auto !important; aspect-ratio: auto !important; display: flex !important;
                           flex-direction: column}
.captions .thumbnail-item img {aspect-ratio: 1; height: auto !important}
.captions .caption-label {position: static !important; max-width: none !important; border: 0 !important;
                          border-radius: 0 !important; white-space: normal !important;
                          overflow: visible !important; text-overflow: clip !important; font-size: .8em;
                          text-align: center !important}
@media (max-width: 640px) {
  .app {padding-left: 8px !important; padding-right: 8px !important}
  #title h1 {font-size: 1.35em}
  /* the live box as tall as the picture in it, not a fixed 420 px around a smaller one */
  #live, #live .image-container, #live .image-frame {height: auto !important; min-height: 0 !important}
  #live img {height: auto !important; width: 100% !important}
}
"""
# Gradio prefixes every rule inside @media in CSS with ".gradio-container .contain", which cannot
# reach <body> or the footer: these phone rules go into <head> as they are.
PHONE_CSS = """
@media (max-width: 640px) {
  /* Gradio hides the API link on a phone (the footer would overflow); the API works from any
     screen, so it stays, and the footer wraps */
  footer {flex-wrap: wrap; row-gap: 4px}
  footer .show-api {display: flex !important}
  footer .show-api-divider {display: block !important}
  /* while it paints (the live picture's progress shows), Paint, Stop and the slider that steers
     it sit in a bar at the foot of the screen: on a phone the picture is below them */
  body:has(#live > .wrap:not(.hide)) #steer {
    position: fixed; left: 0; right: 0; bottom: 0; z-index: 100; gap: 6px; padding: 8px 12px;
    background: var(--background-fill-primary); box-shadow: 0 -2px 12px rgba(0, 0, 0, .18)}
  body:has(#live > .wrap:not(.hide)) #steer .info-text {display: none}
  body:has(#live > .wrap:not(.hide)) footer {padding-bottom: 190px}
}
"""
PAGE_JS = """<script>
(() => {
  // The app serves no MCP, yet Gradio's API page asks for its schema (a 404 in the console):
  // answer that request here, as the server would.
  const fetchFromServer = window.fetch;
  window.fetch = (input, init) => {
    const url = String((input && input.url) || input);
    if (url.endsWith("/gradio_api/mcp/schema") && !(window.gradio_config || {}).mcp_server)
      return Promise.resolve(new Response(null, {status: 404, statusText: "No MCP server"}));
    return fetchFromServer(input, init);
  };
  // Gradio names every thumbnail "Thumbnail 3 of 8": give each its picture's name (the img's
  // alt text), for screen readers and as a tooltip.
  const name = () => document.querySelectorAll(".thumbs button.thumbnail-item").forEach(b => {
    const alt = b.querySelector("img") && b.querySelector("img").alt;
    if (alt && b.getAttribute("aria-label") !== alt) { b.setAttribute("aria-label", alt); b.title = alt; }
  });
  new MutationObserver(name).observe(document.documentElement,
    {subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"]});
})();
</script>"""
HEAD = f"<style>{PHONE_CSS}</style>\n{PAGE_JS}"  # in <head>: the script runs before Gradio's requests


def build() -> gr.Blocks:
    with gr.Blocks(title="Live neural style transfer", delete_cache=(900, 3600)) as blocks:
        gr.Markdown(
            "# Live neural style transfer\n"
            "Drop in a photo and a painting (or click an example under each), press **Paint**, and "
            "watch the photo being painted, step by step: "
            "[Gatys, Ecker & Bethge (2015)](https://arxiv.org/abs/1508.06576) "
            f"on the original VGG-19, running on this machine's **{'GPU' if limits.GPU else 'CPU'}**.",
            elem_id="title")
        with gr.Tab("Paint"):
            content, style = paint.build()  # first, so /stylize heads the API page
        with gr.Tab("Video"):
            video.build()
        with gr.Tab("Explore"):
            explore.build(content, style)
        _name_api_values(blocks)
        _name_refusals(blocks)
    blocks.queue(max_size=limits.QUEUE_SIZE, default_concurrency_limit=1)
    return blocks


def _name_api_values(blocks: gr.Blocks):
    """The API page calls an unlabelled input or output of an endpoint by its id ('parameter_83',
    'value_74'): such a one (Explore's status lines) is named after its elem_id's last word."""
    for fn in blocks.fns.values():
        if fn.api_visibility == "public":
            for block in (*fn.inputs, *fn.outputs):
                if getattr(block, "label", None) is None and block.elem_id:
                    block.label = block.elem_id.rsplit("-", 1)[-1].replace("_", " ").capitalize()


def _name_refusals(blocks: gr.Blocks):
    """Gradio refuses a value outside a slider's range or a radio's choices before any handler
    runs, in words that name no parameter ('Value 5.0 is greater than maximum value 1.'): prefix
    the name the API page gives that parameter, so an API caller knows which one to fix."""
    for fn in blocks.fns.values():
        if fn.api_visibility != "public" or fn.fn is None:
            continue
        names = [p[0] for p in get_function_params(fn.fn)]  # as the API page names them
        for block, name in zip(fn.inputs, names):
            if getattr(block, "_named_refusals", False):
                continue  # shared by several endpoints: the first (the Paint tab's) names it

            def named(payload, preprocess=block.preprocess, name=name):
                try:
                    return preprocess(payload)
                except gr.Error as e:
                    raise gr.Error(f"{name}: {e.message}", title=e.title,
                                   print_exception=False) from None

            block.preprocess, block._named_refusals = named, True


def _warm_up():
    """Load the weights, measure this machine (nst.speed: a few seconds the first time, then
    cached) and let the math libraries set up their kernels now, so a visitor's first frame is
    not the one that pays for it."""
    limits.speed()
    tiny = Image.new("RGB", (64, 48), (120, 90, 60))
    run_once(tiny, tiny, Settings(size=64, steps=2, pyramid=False))


def launch(demo: gr.Blocks, **overrides):
    """Start the server with this app's limits (tests pass prevent_thread_lock etc.)."""
    share = "--share" in sys.argv or os.environ.get("GRADIO_SHARE", "").lower() in ("1", "true")
    kwargs = dict(max_file_size=f"{limits.MAX_FILE_MB}mb", css=CSS, head=HEAD, share=share or None,
                  allowed_paths=[str(EXAMPLES)],  # the API page's sample code fetches an example
                  theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="amber"))
    _warm_up()
    return demo.launch(**{**kwargs, **overrides})

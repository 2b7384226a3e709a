"""The "Explore" tab: what each VGG-19 layer sees (wiring only; the maths is in nst.explore)."""
import gradio as gr


def build():
    """Called inside `with gr.Tab("Explore")` in app.py."""
    gr.Markdown("The layer explorer is being built.")

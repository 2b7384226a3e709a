"""Live neural style transfer: the Gradio app (the UI lives in nst/ui/).

    python app.py            # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT honoured)
    python app.py --share    # also ask Gradio for a public link (or GRADIO_SHARE=1)
"""
try:  # ZeroGPU on Hugging Face Spaces: `spaces` must be imported before torch is
    import spaces  # noqa: F401
except ImportError:
    pass

from nst.ui import build, launch

demo = build()

if __name__ == "__main__":
    launch(demo)

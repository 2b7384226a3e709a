"""The Gradio app: the Paint and Explore tabs around the engine. Only app.py imports this
package (`nst` itself never does), and it needs the `ui` extra: `pip install nst[ui]`."""
from .app import build, launch

__all__ = ["build", "launch"]

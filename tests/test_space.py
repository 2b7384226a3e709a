"""Space readiness: with Hugging Face's `spaces` package installed (as on every Space) but not on
ZeroGPU, `python app.py` still starts and paints, with spaces imported before torch and its
GPU decorator a no-op. Nothing is faked: the real package (requirements-dev.txt) and the real app
in a child process."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from live_server import free_port

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys
import app  # what a Space runs
order = list(sys.modules)
assert "spaces" in sys.modules and order.index("spaces") < order.index("torch"), "spaces after torch"
from nst.ui import limits
assert limits.spaces is not None and not limits.ON_ZEROGPU
from gradio_client import Client, handle_file
photo, painting, port = sys.argv[1:4]
_, url, _ = app.launch(app.demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=int(port),
                       quiet=True)
image, status = Client(url, verbose=False).predict(handle_file(photo), handle_file(painting), size=64,
                                                   steps=6, api_name="/stylize")[:2]
print("RESULT", status)
app.demo.close()
"""


def test_the_app_starts_and_paints_with_the_spaces_package(tmp_path):
    if importlib.util.find_spec("spaces") is None:
        message = "the spaces package is not installed (pip install -r requirements-dev.txt)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACES_", "ZEROGPU"))}
    env["GRADIO_TEMP_DIR"] = str(tmp_path / "gradio")
    photos = ROOT / "examples"
    out = subprocess.run([sys.executable, "-c", CHILD, str(photos / "photos" / "chelsea.jpg"),
                          str(photos / "styles" / "starry_night.jpg"), str(free_port())],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    status = out.stdout.split("RESULT", 1)[1]
    assert "Done" in status and "64×43 px" in status, status

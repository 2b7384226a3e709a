"""Start the real app (`python app.py`) in a child process on 127.0.0.1, for API and load tests.

A child process, not a thread in the test process, so its memory (RSS) and temp files are the
server's alone and a crash in it cannot take the tests down with it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(env: dict | None = None, start_timeout: float = 180):
    """Yields (url, Popen, temp_dir): the app serving on loopback with its own Gradio temp dir."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="nst-live-"))
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_TEMP_DIR": str(tmp / "gradio"), "GRADIO_ANALYTICS_ENABLED": "False",
           "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1", **(env or {})}
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited ({proc.returncode}):\n" + server_log(tmp))
            try:
                if httpx.get(url + "gradio_api/info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("app.py did not start in time:\n" + server_log(tmp))
            time.sleep(0.5)
        yield url, proc, tmp
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def server_log(tmp: Path, tail: int = 4000) -> str:
    p = tmp / "server.log"
    return p.read_text(errors="replace")[-tail:] if p.exists() else ""


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, MB."""
    import psutil
    p = psutil.Process(pid)
    procs = [p] + p.children(recursive=True)
    return sum(q.memory_info().rss for q in procs if q.is_running()) / 2**20


def temp_usage(folder: Path) -> tuple[int, float]:
    """(files, MB) under a folder."""
    files = [f for f in folder.rglob("*") if f.is_file()] if folder.exists() else []
    return len(files), sum(f.stat().st_size for f in files) / 2**20

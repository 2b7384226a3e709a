"""Ray: a real two-worker local cluster paints a clip's chunks and a batch of photos; without
--workers, Ray is never imported."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import cool_painting
from test_video import pan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clip_dir(tmp_path):
    d = tmp_path / "clip"
    d.mkdir()
    for k, im in enumerate(pan(n=4)):
        im.save(d / f"{k:02d}.png")
    cool_painting(48, 48).save(tmp_path / "painting.png")
    return d


def _python(code: str, env=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | (env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=600)


def test_two_ray_workers_paint_a_clip_and_a_batch(clip_dir):
    pytest.importorskip("ray")
    tmp = clip_dir.parent
    r = _python(f"""
        import sys
        from nst.cli import main
        assert main(["video", "{clip_dir}", "{tmp / 'painting.png'}", "-o", "{tmp / 'out'}", "--size", "48",
                     "--steps", "12", "--workers", "2", "-q"]) == 0
        assert main(["batch", "{clip_dir}", "{tmp / 'painting.png'}", "-o", "{tmp / 'batch'}", "--size", "48",
                     "--steps", "6", "--workers", "2", "-q"]) == 0
        import ray
        print("workers seen:", len({{n["NodeManagerAddress"] for n in ray.nodes()}}), ray.cluster_resources()["CPU"])
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "4 of 4 frames" in r.stderr and "2 workers" in r.stderr
    painted = sorted((tmp / "out").glob("frame_*.png"))
    assert len(painted) == 4
    inputs = [Image.open(p).convert("RGB") for p in sorted(clip_dir.iterdir())]
    for p, im in zip(painted, inputs):  # each chunk's frames painted, not copied from the photo
        out = np.asarray(Image.open(p).convert("RGB"), np.float32)
        assert np.abs(out - np.asarray(im.resize(Image.open(p).size), np.float32)).mean() > 8, p.name
    assert sorted(p.name for p in (tmp / "batch").iterdir()) == [f"{k:02d}.png" for k in range(4)]


def test_without_workers_ray_is_never_imported(clip_dir):
    tmp = clip_dir.parent
    r = _python(f"""
        import sys
        from nst.cli import main
        assert main(["video", "{clip_dir}", "{tmp / 'painting.png'}", "-o", "{tmp / 'o.mp4'}", "--size", "32",
                     "--steps", "2", "-q"]) == 0
        assert "ray" not in sys.modules, "ray was imported"
    """)
    assert r.returncode == 0, r.stderr[-3000:]

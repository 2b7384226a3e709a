"""Ray: a real two-worker local cluster paints a clip's chunks and a batch of photos; without
--workers, Ray is never imported."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
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


@pytest.mark.slow
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


def _long_clip(tmp_path, n=12):
    d = tmp_path / "long"
    d.mkdir()
    for k, im in enumerate(pan(n=n)):
        im.save(d / f"{k:02d}.png")
    return d


def _interrupted(cmd, tmp_path, after: str, wait: float, paced_by: tuple[str, str] | None = None):
    """Run the CLI, press Ctrl-C (SIGINT to its whole process group, as a terminal does) `wait`
    seconds after `after` shows on its stderr (with `paced_by`, two words in turn: `wait` times
    the seconds between them, so the moment follows this machine's pace); returns (exit code,
    stderr, seconds from the Ctrl-C to its exit)."""
    from waiting import ChildStderr

    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen([sys.executable, "-m", "nst", *cmd], cwd=ROOT, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    err = ChildStderr(proc)
    try:
        if paced_by is not None:
            err.wait_for(paced_by[0], 300)
            t0 = time.monotonic()
            err.wait_for(paced_by[1], 300)
            wait *= time.monotonic() - t0
        err.wait_for(after, 300)
        time.sleep(wait)
        pressed = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(90)
        took = time.monotonic() - pressed
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, err.rest(), took


@pytest.mark.slow
def test_ctrl_c_stops_every_ray_worker_and_keeps_the_frames_done(tmp_path):
    """A 12-frame clip on two workers, Ctrl-C while the chunks paint: it used to paint on to the
    end (the runner never looked at the stop). Every worker stops within a step, the frames done
    are written."""
    pytest.importorskip("ray")
    clip = _long_clip(tmp_path)
    cool_painting(48, 48).save(tmp_path / "painting.png")
    # the two keyframes are painted here, then the chunks on the workers; a worker's frames come
    # back only with its chunk, so the Ctrl-C comes in time: half the first frame's time after the
    # second keyframe, when each chunk of five later frames (a third of the first's steps each)
    # has painted at most two
    code, said, took = _interrupted(["video", str(clip), str(tmp_path / "painting.png"), "-o", str(tmp_path / "out"),
                                     "--size", "48", "--steps", "1200", "--workers", "2"], tmp_path,
                                    after="2/12", wait=0.5, paced_by=("0/12", "1/12"))
    assert code == 0, said[-3000:]
    assert took < 30, f"{took:.0f} s from Ctrl-C to the end"
    assert "stopped early" in said and "Traceback" not in said, said[-3000:]
    written = sorted((tmp_path / "out").glob("frame_*.png"))
    assert 2 <= len(written) < 12, len(written)


@pytest.mark.slow
def test_ctrl_c_in_a_batch_on_ray_workers_is_no_traceback(tmp_path):
    pytest.importorskip("ray")
    folder = tmp_path / "photos"
    folder.mkdir()
    for k, im in enumerate(pan(n=6)):
        im.save(folder / f"{k}.png")
    cool_painting(48, 48).save(tmp_path / "painting.png")
    code, said, took = _interrupted(["batch", str(folder), str(tmp_path / "painting.png"), "-o", str(tmp_path / "out"),
                                     "--size", "48", "--steps", "3000", "--workers", "2"], tmp_path,
                                    after="photo", wait=12)
    assert code == 0 and "Traceback" not in said and "KeyboardInterrupt" not in said, said[-3000:]
    assert took < 30 and "stopped early" in said, said[-3000:]
    m = re.search(r"wrote (\d+) of 6 pictures", said)
    assert m and 1 <= int(m[1]) <= 2 and len(list((tmp_path / "out").iterdir())) == int(m[1]), said[-3000:]


@pytest.mark.slow
def test_ray_workers_measure_their_speed_when_they_start_not_in_their_first_job():
    """A worker has its own share of the threads, so its own speed model: measured while the
    actors start (during the keyframes), not inside the first chunk's budget."""
    pytest.importorskip("ray")
    r = _python("""
        import json, torch
        from nst import scale, speed
        workers = 2
        threads = max(1, torch.get_num_threads() // workers)
        mine = torch.get_num_threads()
        torch.set_num_threads(threads)
        key = speed.machine_key(torch.device("cpu"), "vgg19")
        torch.set_num_threads(mine)
        path = speed.cache_dir() / "speed.json"
        if path.exists():  # measured by an earlier test: forget it, to see it measured again
            table = json.loads(path.read_text()); table.pop(key, None); path.write_text(json.dumps(table))
        scale.start(workers)
        import ray
        pool = scale.Pool(workers, "vgg19")
        ray.get([a.ready.remote() for a in pool.actors])
        print("measured at start:", key in json.loads(path.read_text()))
        pool.close()
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "measured at start: True" in r.stdout, r.stdout + r.stderr[-2000:]

"""Defects a user hit at the edges, each as the user met it: a tiny brushed region, Ctrl-C in a
batch, a speed model skewed by line-search steps, bf16 where it was never measured, a cache that
cannot be written, a clip's budget shared without a runner, its hard limit, the MFU's precision,
Netpbm frames, the app's old files, and a preset label that promised another size."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import warm_photo
from nst import Settings, clipio, speed, stylize, video
from nst.intake import ImageError, open_image
from speeds import fake_speed, installed, this_machine
from waiting import ChildStderr

ROOT = Path(__file__).resolve().parents[1]
CHELSEA = ROOT / "examples" / "photos" / "chelsea.jpg"


def _dot_mask(size, box) -> Image.Image:
    m = Image.new("L", size, 0)
    m.paste(255, box)
    return m


def test_a_tiny_brushed_region_is_painted_where_a_coarse_level_cannot_see_it(painting):
    """An 8 px dot on a 1024 px photo: at the 128 px level it is a pixel, too small for any
    layer's statistics, and that level used to end in "'float' object has no attribute 'item'".
    It is left out there and painted at full size."""
    photo = Image.open(CHELSEA).convert("RGB").resize((1024, 681))
    mask = _dot_mask(photo.size, (500, 300, 508, 308))
    out = None
    for out in stylize(photo, painting, Settings(levels=((128, 3), (256, 4)), optimizer="adam",
                                                 precision="fp32", lr=30), mask=mask):
        pass
    assert out.done and out.image.size == (256, 170)
    assert out.losses["style"] > 0  # the region has its statistics at full size, and was matched
    got = np.asarray(out.image, np.float32)
    base = np.asarray(photo.resize(out.image.size, Image.BICUBIC), np.float32)
    assert np.abs(got[:100, :100] - base[:100, :100]).mean() < 2  # the photo elsewhere


def test_a_region_too_small_even_at_full_size_is_refused_in_words(photo, painting):
    mask = _dot_mask((480, 400), (100, 100, 101, 101))  # one pixel of 480, painted at 64 px
    with pytest.raises(ValueError, match="the brushed region is too small to paint at 64 px"):
        next(stylize(photo.resize((480, 400)), painting, Settings(size=64, steps=2), mask=mask))


def test_the_cli_paints_a_tiny_brushed_region(tmp_path, painting):
    """As a user met it: a 4 px dot on a 1024 px photo, painted at 512 px."""
    photo = Image.open(CHELSEA).convert("RGB").resize((1024, 681))
    photo.save(tmp_path / "photo.png")
    painting.save(tmp_path / "painting.png")
    _dot_mask(photo.size, (500, 300, 504, 304)).save(tmp_path / "mask.png")
    r = subprocess.run([sys.executable, "-m", "nst", str(tmp_path / "photo.png"), str(tmp_path / "painting.png"),
                        "-o", str(tmp_path / "out.png"), "--mask", str(tmp_path / "mask.png"),
                        "--levels", "128x1,512x1", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "out.png").size == (512, 340)


def test_line_search_steps_are_kept_apart_in_the_speed_model(photo, painting):
    """An L-BFGS step with a line search costs up to 20 evaluations: filed under the one-evaluation
    curve it made every later budget plan smaller pictures."""
    with installed(this_machine()) as sp:
        polish_before = json.dumps(sp.curves["fp32/lbfgs"].points, sort_keys=True)
        for _ in stylize(photo.resize((96, 80)), painting, Settings(size=96, steps=6, optimizer="lbfgs",
                                                                  pyramid=False, precision="fp32")):
            pass
        assert json.dumps(sp.curves["fp32/lbfgs"].points, sort_keys=True) == polish_before
        assert sp.curves["fp32/lbfgs-search"].points  # filed under its own curve
        assert sp.step("fp32", "lbfgs", 96 * 80) != sp.step("fp32", "polish", 96 * 80)


def test_bf16_with_a_budget_where_bf16_was_never_measured_is_a_sentence(photo, painting):
    with installed(fake_speed(fp32=0.05)):  # no bf16 curve: MPS, or a probe that failed
        with pytest.raises(ValueError, match="bf16 was not measured on this device.*precision auto or fp32"):
            next(stylize(photo, painting, Settings(seconds=2, precision="bf16", optimizer="adam")))


def test_an_unwritable_speed_cache_is_said_once_and_kept_in_a_temporary_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NST_CACHE", str(blocker / "nst"))  # cannot be made, even as root
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(speed, "_SPEEDS", {})
    monkeypatch.setattr(speed, "_WARNED", set())
    made = []
    monkeypatch.setattr(speed, "calibrate", lambda device, weights, key: made.append(key) or
                        fake_speed(key=key))
    with pytest.warns(RuntimeWarning, match="cannot be written.*keeping it in") as said:
        speed.measured("cpu")
    assert len(said) == 1 and len(made) == 1
    monkeypatch.setattr(speed, "_SPEEDS", {})  # the next run (a new process): read, not measured again
    speed.measured("cpu")
    assert len(made) == 1 and list((tmp_path / "tmp").glob("nst-*/speed.json"))


def test_the_cli_says_an_unwritable_cache_in_one_line(tmp_path, photo, painting):
    """The model kept in the temporary folder by an earlier run is read (no new calibration);
    what this run measures cannot go to the cache asked for: one line says so."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    photo.save(tmp_path / "p.png")
    painting.save(tmp_path / "s.png")
    speed.measured("cpu")  # this machine's model, in the tests' own cache
    kept = tmp_path / f"nst-{os.getuid()}"
    kept.mkdir()
    (kept / "speed.json").write_text((speed.cache_dir() / "speed.json").read_text())
    env = {**os.environ, "NST_CACHE": str(blocker / "nst"), "TMPDIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "nst", str(tmp_path / "p.png"), str(tmp_path / "s.png"), "-o",
                        str(tmp_path / "o.png"), "--size", "48", "--steps", "8", "--no-pyramid", "-q"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    warned = [line for line in r.stderr.splitlines() if "speed cache" in line]
    assert len(warned) == 1 and warned[0].startswith("nst: warning: the speed cache"), r.stderr


def test_a_clip_in_chunks_without_a_runner_shares_its_budget_with_every_chunk(painting):
    """Chunks painted here one after another: the first used to take the whole budget, leaving
    the second half a second a frame."""
    frames = [warm_photo(64, 48)] * 6
    done = list(video.paint_clip(frames, [painting], Settings(size=48, precision="fp32"), seconds=5,
                                 workers=2))
    steps = {f.index: f.steps for f in done}
    first_chunk, second_chunk = [steps[k] for k in (1, 2)], [steps[k] for k in (4, 5)]
    assert min(second_chunk) >= 0.5 * max(first_chunk), steps


def test_a_clip_stops_at_its_hard_limit(painting):
    frames = [warm_photo(64, 48)] * 4
    t = time.perf_counter()
    done = list(video.paint_clip(frames, [painting], Settings(size=48, precision="fp32"), steps=4000, limit=2.0))
    assert time.perf_counter() - t < 6 and 1 <= len(done) <= 4


def test_the_mfu_is_measured_against_the_peak_of_the_runs_own_precision(photo, painting):
    sp = fake_speed(fp32=0.05, bf16=0.02, peaks={"fp32": 1e11, "bf16": 4e11})
    with installed(sp):
        out = None
        for out in stylize(photo, painting, Settings(size=48, steps=6, pyramid=False, optimizer="adam",
                                                     precision="bf16")):
            pass
    assert out.info.precision == "bf16" and out.info.peak_flops == 4e11
    assert out.info.mfu == pytest.approx(out.info.flops_per_s / 4e11)


@pytest.mark.parametrize("suffix, mode", [(".ppm", "RGB"), (".pgm", "L"), (".pbm", "1")])
def test_netpbm_frames_are_read_like_any_image(tmp_path, suffix, mode):
    path = tmp_path / f"frame{suffix}"
    warm_photo(64, 48).convert(mode).save(path)
    img = open_image(path)
    assert img.mode == "RGB" and img.size == (64, 48)


def test_a_folder_of_netpbm_frames_is_a_clip_and_a_refusal_lists_the_formats(tmp_path):
    d = tmp_path / "clip"
    d.mkdir()
    for k in range(3):
        warm_photo(64, 48).save(d / f"{k:03d}.ppm")
    assert len(clipio.read_clip(d).frames) == 3
    (tmp_path / "x.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ImageError, match="Netpbm.*JPEG 2000"):
        open_image(tmp_path / "x.bin")


def test_the_apps_old_files_are_swept(tmp_path, monkeypatch):
    from nst.ui import files

    monkeypatch.setattr(files, "OUT_DIR", tmp_path)
    old, fresh = tmp_path / "painted-clip-aaaa.mp4", tmp_path / "mask-bbbb.png"
    for f in (old, fresh):
        f.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * files.MAX_AGE,) * 2)
    files.out_path("stylized", ".png")
    assert not old.exists() and fresh.exists()


def test_a_presets_label_names_the_size_its_run_paints():
    """The label said 'Quick · 15 s · 416 px here' and the run painted chelsea at 384 x 255."""
    from nst.ui import contract, paint

    label = dict((v, k) for k, v in paint._preset_choices(str(CHELSEA)))["quick"]
    promised = int(label.split("·")[2].split("px")[0])
    params = {**contract.API_DEFAULTS, "content": str(CHELSEA), "style": str(CHELSEA)}
    _, _, s, _, _ = contract.inputs(params)
    assert s.size == promised, (label, s.size)


def test_ctrl_c_in_a_batch_keeps_the_picture_painting_and_paints_no_other(tmp_path, painting):
    """Ctrl-C used to write the rest of the folder as unpainted thumbnails, counted as written."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(3):
        warm_photo(64, 48).save(folder / f"{k}.png")
    painting.save(tmp_path / "s.png")
    proc = subprocess.Popen([sys.executable, "-m", "nst", "batch", str(folder), str(tmp_path / "s.png"), "-o",
                             str(tmp_path / "out"), "--size", "64", "--steps", "4000"], cwd=ROOT,
                            stderr=subprocess.PIPE)
    err = ChildStderr(proc)
    try:
        err.wait_for("photo")
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        proc.kill()
    rest = err.rest()
    assert proc.returncode == 0, rest
    assert "wrote 1 of 3 pictures" in rest and "stopped early" in rest, rest
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["0.png"]

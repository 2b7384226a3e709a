"""Print sizes: memory is part of the plan (tests feed in measurements; no machine is named), a
picture too large for it is painted by blocks to the same pixels, the PNG carries the recipe that
repeats it, and a long run stopped with Ctrl-C goes on from its checkpoint to the pixels of a run
never stopped."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import Settings, budget, recipe, stylize
from nst.budget import level_bytes, parse_bytes, plan_memory, side_pixels
from speeds import fake_speed, installed
from waiting import ChildStderr

ROOT = Path(__file__).resolve().parents[1]
GB = 2**30
# a machine whose whole-picture step keeps 0.3 GB plus 1.6 kB a pixel: 4096 px at 3:2 is 18 GB
MEASURED = {"fp32": [0.3e9, 1600.0], "bf16": [0.3e9, 1400.0]}
WH = (1536, 1024)


def _sp(**kw):
    return fake_speed(fp32=0.5, bf16=0.3, memory=MEASURED, **kw)


def test_the_whole_picture_where_it_fits_blocks_where_it_does_not():
    sp = _sp()
    assert plan_memory(sp, "fp32", "adam", WH, 1024, 8 * GB) == (None, 100)
    assert plan_memory(sp, "fp32", "adam", WH, 4096, None)[0] is None  # no limit known: at once
    blocks = {}
    for gb in (8, 4, 3):
        block, _ = plan_memory(sp, "fp32", "adam", WH, 4096, gb * GB)
        assert block is not None and block % 16 == 0
        assert budget.MARGIN_OF_ERROR * level_bytes(sp, "fp32", "adam", WH, 4096, block, 100) <= gb * GB
        blocks[gb] = block
    assert blocks[8] >= blocks[4] >= blocks[3]  # less memory, smaller blocks
    # bf16 keeps fewer bytes a pixel: what needs blocks in fp32 may fit at once
    side = 2048
    whole32, whole16 = (MEASURED[p][0] + MEASURED[p][1] * side_pixels(WH, side) for p in ("fp32", "bf16"))
    between = budget.MARGIN_OF_ERROR * (whole32 + whole16) / 2
    assert plan_memory(sp, "bf16", "adam", WH, side, between)[0] is None
    assert plan_memory(sp, "fp32", "adam", WH, side, between)[0] is not None


def test_lbfgs_history_shrinks_at_print_size_and_gives_way_to_adam(monkeypatch):
    """100 curvature pairs of a 17-megapixel picture are 13 GB in fp32: at print size the history
    shrinks to what leaves room for the blocks; where even a few pairs do not fit, the level is
    painted with Adam, whose state is two pictures."""
    sp = _sp()
    block, history = plan_memory(sp, "fp32", "lbfgs", WH, 1024, 16 * GB)
    assert (block, history) == (None, 100)  # a screen-sized picture keeps the textbook's 100
    block, history = plan_memory(sp, "fp32", "lbfgs", WH, 5040, 8 * GB)
    assert budget.MIN_HISTORY <= history < 100
    assert 24 * side_pixels(WH, 5040) * history <= 4 * GB  # its pairs take at most half
    s = Settings(levels=((256, 2), (6000, 1)), optimizer="adam+lbfgs", precision="fp32", device="cpu",
                 max_memory=6 * GB)
    with installed(sp):
        p = budget.plan_run(s, WH, started=0.0)
    assert p.optimizers == ["adam", "adam"] and p.blocks[0] is None and p.blocks[1] is not None


def test_a_picture_that_does_not_fit_even_in_blocks_is_refused_in_words():
    with pytest.raises(ValueError, match=r"^a 8000 px picture needs about .* GB even in blocks of 256 px, "
                                         r"and 0\.5 GB may be used here: paint it smaller"):
        plan_memory(_sp(), "fp32", "adam", WH, 8000, 0.5 * GB)


def test_a_budget_counts_blocks_as_dearer_and_plans_within_memory():
    """Under a budget, a size that needs blocks costs more (their margins are read twice), so the
    same seconds buy a size no larger than with memory to spare."""
    sp = _sp()
    s = Settings(seconds=600, device="cpu", precision="fp32", optimizer="adam")
    roomy = budget.plan(s, WH, 600, sp, max_size=4096)
    tight = budget.plan(s, WH, 600, sp, max_size=4096, memory=1 * GB)
    assert tight.size <= roomy.size and tight.seconds <= 600
    assert budget.block_factor(WH, 4096, 512) > 1.0 == budget.block_factor(WH, 4096, None)


def test_the_memory_a_run_may_take_is_the_flag_else_the_environment_else_most_of_what_is_free(monkeypatch):
    assert parse_bytes("8G") == 8 * GB and parse_bytes("512m") == 512 * 2**20 and parse_bytes("2.5GB") == 2.5 * GB
    with pytest.raises(ValueError, match="such as 8G"):
        parse_bytes("lots")
    import torch

    cpu = torch.device("cpu")
    monkeypatch.setenv("NST_MAX_MEMORY", "3G")
    assert budget.memory_budget(Settings(max_memory=2 * GB), cpu) == 2 * GB
    assert budget.memory_budget(Settings(), cpu) == 3 * GB
    monkeypatch.delenv("NST_MAX_MEMORY")
    monkeypatch.setattr(budget, "free_memory", lambda device: 10 * GB)
    assert budget.memory_budget(Settings(), cpu) == budget.HEADROOM * 10 * GB


@pytest.mark.slow  # a run twice over (fast tier: tests/test_blocks.py's exactness)
def test_a_run_planned_in_blocks_paints_the_pixels_of_one_painted_whole(photo, painting):
    """The planner, told a memory too small for a 768 x 208 px picture at once, paints it by blocks;
    the picture is the one painted whole (float rounding apart)."""
    wide = photo.resize((768, 208))
    sp = fake_speed(fp32=0.5, memory={"fp32": [1e6, 1600.0]})
    whole_bytes, blocked_bytes = (level_bytes(sp, "fp32", "adam", wide.size, 768, b, 100) for b in (None, 256))
    assert blocked_bytes < whole_bytes
    s = Settings(levels=((768, 2),), optimizer="adam", precision="fp32", init="noise", seed=2)
    with installed(sp):
        whole = list(stylize(wide, painting, s.replace(max_memory=4 * whole_bytes)))[-1]
        tight = budget.MARGIN_OF_ERROR * (whole_bytes + blocked_bytes) / 2
        blocked = list(stylize(wide, painting, s.replace(max_memory=tight)))[-1]
    assert whole.info.block is None and blocked.info.block is not None
    diff = np.abs(np.asarray(whole.image, float) - np.asarray(blocked.image, float))
    assert diff.mean() < 0.05 and diff.max() <= 2


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "nst", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def files(tmp_path, photo, painting):
    photo.save(tmp_path / "photo.png")
    painting.save(tmp_path / "painting.png")
    return tmp_path


@pytest.mark.slow  # three command-line runs
def test_a_png_carries_its_recipe_and_the_recipe_repeats_its_pixels(files):
    """A budgeted run's plan is the budget's outcome on that machine at that moment: the recipe
    keeps the plan it took, so the file alone paints the same picture again."""
    first, again = files / "first.png", files / "again.png"
    r = _cli(files / "photo.png", files / "painting.png", "-o", first, "--seconds", "12", "--size", "48",
             "--seed", "5", "-q")
    assert r.returncode == 0, r.stderr
    s = recipe.read(first)
    assert s.seed == 5 and s.levels and s.levels[-1][0] == 48 and s.seconds is None
    r = _cli(files / "photo.png", files / "painting.png", "-o", again, "--recipe", first, "-q")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(again)))
    Image.open(files / "photo.png").save(files / "plain.png")
    r = _cli(files / "photo.png", files / "painting.png", "-o", again, "--recipe", files / "plain.png")
    assert r.returncode == 2 and "carries no recipe" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ctrl_c_leaves_a_checkpoint_that_goes_on_to_the_pixels_of_a_run_never_stopped(files):
    flags = [files / "photo.png", files / "painting.png", "--size", "48", "--steps", "300", "--seed", "3",
             "--precision", "fp32", "--optimizer", "adam"]
    stopped, resumed, whole = files / "stopped.png", files / "resumed.png", files / "whole.png"
    proc = subprocess.Popen([sys.executable, "-m", "nst", *map(str, flags), "-o", str(stopped)], cwd=ROOT,
                            stderr=subprocess.PIPE)
    err = ChildStderr(proc)
    try:
        err.wait_for("style=")  # painting
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        proc.kill()
    said = err.rest()
    assert proc.returncode == 0 and f"go on with: --resume {files / 'stopped.ckpt'}" in said, said
    assert Image.open(stopped).size == (48, 40)
    r = _cli(*flags[:2], "-o", resumed, "--resume", files / "stopped.ckpt", "-q")
    assert r.returncode == 0 and "300 steps" in r.stderr, r.stderr
    assert not (files / "resumed.ckpt").exists()  # finished: nothing left to go on from
    assert _cli(*flags, "-o", whole, "-q").returncode == 0
    assert np.array_equal(np.asarray(Image.open(resumed)), np.asarray(Image.open(whole)))

"""Long runs survive: a checkpoint taken when a run is stopped goes on to the same pixels as a run
that was never stopped, at a pyramid level's middle, with Adam and with L-BFGS."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from nst import Settings, stylize
from nst.checkpoint import Checkpoint


def _last(frames):
    out = None
    for out in frames:
        pass
    return out


@pytest.mark.parametrize("optimizer", ["adam", "auto"])  # auto in fp32: Adam, then L-BFGS at full size
def test_a_resumed_run_ends_with_the_pixels_of_one_never_stopped(photo, painting, tmp_path, optimizer):
    s = Settings(levels=((32, 5), (64, 7)), optimizer=optimizer, precision="fp32", init="noise", seed=4,
                 frame_every=1)
    whole = _last(stylize(photo, painting, s))
    cancel, saved = threading.Event(), []

    def keep(c: Checkpoint):
        saved.append(c.save(tmp_path / "run.ckpt"))

    for f in stylize(photo, painting, s, cancel=cancel, on_checkpoint=keep):
        if f.step == 8:  # three steps into the second level
            cancel.set()
    assert f.done and f.step == 9 and len(saved) == 1
    ck = Checkpoint.load(tmp_path / "run.ckpt")
    assert (ck.level, ck.done_here, ck.step) == (1, 4, 9)
    resumed = _last(stylize(photo, painting, resume=ck))
    assert resumed.step == whole.step == 12 and resumed.info.taken == whole.info.taken
    assert np.array_equal(np.asarray(resumed.image), np.asarray(whole.image))


def test_a_file_that_is_no_checkpoint_is_refused_in_words(tmp_path):
    (tmp_path / "x.ckpt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="is not a checkpoint"):
        Checkpoint.load(tmp_path / "x.ckpt")
    with pytest.raises(ValueError, match="no checkpoint at"):
        Checkpoint.load(tmp_path / "missing.ckpt")

"""What the page's run says when it ends (nst/ui/stream.py), here and on ZeroGPU."""
from types import SimpleNamespace

import pytest

from conftest import cool_painting, warm_photo
from nst import Settings
from nst.ui import limits, runs, stream


@pytest.mark.parametrize("zerogpu, ending", [
    (False, "Stopped**: the best picture so far"),
    (True, "Stopped**: the picture at step {step}"),  # the latest iterate is what ZeroGPU returns
])
def test_a_stopped_run_says_which_picture_it_returns(monkeypatch, zerogpu, ending):
    monkeypatch.setattr(limits, "ON_ZEROGPU", zerogpu)
    session = f"stream-test-{zerogpu}"
    s = Settings(size=32, steps=200, pyramid=False, frame_every=1)
    outputs = stream.paint_run(warm_photo(32, 24), [cool_painting(32, 32)], s, SimpleNamespace(session_hash=session))
    first = next(outputs)
    assert "Painting" in first[1]
    runs.RUNS.stop(session)
    *_, last = outputs
    step = int(last[1].split(" steps in")[0].rsplit(" ", 1)[1])
    assert step < 10 and ending.format(step=step) in last[1], last[1]

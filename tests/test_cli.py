"""`python -m nst`: writes the picture (and frames on request), presets yield to explicit flags,
and bad input ends with exit code 2 and one line, no traceback."""
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst.cli import main
from nst.cli.photo import build_parser, settings_from_args


@pytest.fixture
def files(tmp_path, photo, painting):
    photo.save(tmp_path / "photo.png")
    painting.save(tmp_path / "painting.jpg")
    return tmp_path


def test_module_run_writes_the_picture_and_frames(files):
    out = files / "out.png"
    r = subprocess.run([sys.executable, "-m", "nst", str(files / "photo.png"),
                        str(files / "painting.jpg"), "-o", str(out), "--size", "32", "--steps", "8",
                        "--seed", "7", "--save-every", "4"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (32, 27)
    assert Image.open(files / "out_step0004.png").size == (32, 27)
    assert not (files / "out_step0008.png").exists()  # the last step is the output itself
    assert "8 steps" in r.stderr and "the photo's" in r.stderr
    assert re.search(r"8/8 \[.*(s/step|step/s)", r.stderr)  # the progress bar reached the end


def _settings(*flags):
    return settings_from_args(build_parser().parse_args(["c.png", "s.png", "-o", "o.png", *flags]))


def test_preset_then_explicit_flags_win():
    s = _settings("--preset", "quick", "--steps", "7", "--device", "cpu")
    assert (s.seconds, s.size, s.steps) == (15.0, None, 7)  # the budget stays, the steps are fixed
    assert _settings("--seconds", "30", "--size", "128").seconds == 30.0


def test_flags_map_to_the_papers_settings():
    s = _settings("--style-layers", "conv1_1,conv3_1", "--layer-weights", "0.75,0.25", "--ratio",
                  "1e-4", "--beta", "100", "--no-pyramid", "--colors", "luminance", "--pooling", "max",
                  "--init", "noise", "--optimizer", "lbfgs", "--precision", "fp32", "--tv-weight", "0.1")
    assert s.style_layers == ("conv1_1", "conv3_1") and s.layer_weights == (0.75, 0.25)
    assert s.style_weight == 100 and s.content_weight == pytest.approx(0.01)
    assert (s.pyramid, s.colors, s.pooling, s.init, s.optimizer, s.precision, s.tv_weight) == (
        False, "luminance", "max", "noise", "lbfgs", "fp32", 0.1)


def test_weights_default_from_environment(monkeypatch):
    monkeypatch.setenv("NST_WEIGHTS", "hub:someone/vgg19")
    assert _settings().weights == "hub:someone/vgg19"
    assert _settings("--weights", "vgg19").weights == "vgg19"


@pytest.mark.parametrize("args, says", [
    (["missing.png", "painting.jpg"], "No image file at"),
    (["notes.png", "painting.jpg"], "notes.png"),
    (["photo.png", "painting.jpg", "--style-layers", "conv9_1"], "unknown layer 'conv9_1'"),
    (["photo.png", "painting.jpg", "--size", "5"], "size must be"),
    (["photo.png", "painting.jpg", "--size", "big"], "invalid int value: 'big'"),
    (["photo.png", "painting.jpg", "--style-blend", "1,2"], "style_blend has 2 weights for 1"),
    (["photo.png", "painting.jpg", "--alpha", "1", "--beta", "2", "--ratio", "3"], "at most two"),
    (["photo.png", "painting.jpg", "--weights", "nowhere.safetensors"], "does not exist"),
    (["photo.png", "painting.jpg", "--timelapse", "run.gif"], "use a .webp file for the time-lapse"),
    (["photo.png", "painting.jpg", "--mask", "nomask.png"], "no mask file at 'nomask.png'"),
    (["photo.png", "painting.jpg", "--mask", "notes.png"], "cannot read the mask 'notes.png'"),
    (["photo.png", "painting.jpg", "--mask", "painting.jpg"], "the mask is 48x48 px but the photo"),
    (["photo.png", "painting.jpg", "--mask", "photo.png", "--mask-mode", "split"],
     "needs exactly 2 paintings; got 1"),
])
def test_bad_input_exits_2_with_one_line(files, capsys, monkeypatch, args, says):
    (files / "notes.png").write_text("not an image at all")
    monkeypatch.chdir(files)
    with pytest.raises(SystemExit) as exit_:
        sys.exit(main([*args, "-o", str(files / "out.png"), "-q"]))
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.count("\n") == 1 and err.startswith("nst: error:") and says in err
    assert "Traceback" not in err and not (files / "out.png").exists()


@pytest.mark.parametrize("flags, says", [
    (["--seconds", "3", "--size", "3072"], r"^nst: error: 3 s cannot hold a 3072 px picture in fp32 on "
     r"this machine: even one step is predicted to end after about \d+ s\."),
    (["--preset", "quick", "--steps", "20000"], r"^nst: error: 20000 steps do not fit in 15 s on this "
     r"machine, even at 128 px: about \d+ s predicted\."),
])
def test_a_budget_that_cannot_hold_the_size_or_steps_is_refused_before_the_run(files, flags, says):
    """Run, they would end minutes after the time asked for; the command says so at once."""
    out = files / "out.png"
    r = subprocess.run([sys.executable, "-m", "nst", str(files / "photo.png"), str(files / "painting.jpg"),
                        "-o", str(out), "-q", "--precision", "fp32", *flags],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and re.match(says, r.stderr) and r.stderr.count("\n") == 1, r.stderr
    assert not out.exists()


def test_unwritable_output_is_refused_before_the_run(files, capsys):
    code = main([str(files / "photo.png"), str(files / "painting.jpg"), "-o",
                 str(files / "no_dir" / "out.png")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_mask_and_timelapse_flags(files, capsys):
    """The style lands inside the mask only, and the run is also written as a time-lapse."""
    left = Image.new("L", (48, 40))
    left.paste(255, (0, 0, 24, 40))
    left.save(files / "mask.png")
    out, lapse = files / "out.png", files / "run.webp"
    code = main([str(files / "photo.png"), str(files / "painting.jpg"), "-o", str(out), "-q",
                 "--size", "48", "--steps", "20", "--no-pyramid", "--mask", str(files / "mask.png"),
                 "--timelapse", str(lapse)])
    assert code == 0 and "time-lapse" in capsys.readouterr().err
    painted, photo = (np.asarray(Image.open(p).convert("RGB"), np.float32) for p in
                      (out, files / "photo.png"))
    change = np.abs(painted - photo).mean(2)
    assert change[:, :20].mean() > 3 * change[:, 28:].mean()
    movie = Image.open(lapse)
    assert movie.format == "WEBP" and movie.n_frames >= 10 and movie.size == (48, 40)

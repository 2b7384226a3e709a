"""Every weight source loads offline from small files the test writes, and a source that cannot
be reached fails with one WeightsError that names it and the offline default."""
import hashlib

import pytest
import torch
from safetensors.torch import save_file

from nst.settings import LAYERS
from nst.vgg import load_vgg
from nst.weights import CAFFE, TORCHVISION, TV_INDEX, WeightsError, load_weights

FIRST = ("conv1_1", "conv1_2", "conv2_1")  # enough layers to test with, small enough to write


@pytest.fixture(autouse=True)
def fresh_caches():
    load_weights.cache_clear()
    load_vgg.cache_clear()
    yield
    load_weights.cache_clear()
    load_vgg.cache_clear()


def _random_convs(layers=FIRST):
    g = torch.Generator().manual_seed(0)
    shapes = {"conv1_1": (64, 3), "conv1_2": (64, 64), "conv2_1": (128, 64)}
    return {n: (torch.randn(*shapes[n], 3, 3, generator=g) * 0.05, torch.randn(shapes[n][0]) * 0.1)
            for n in layers}


def _torchvision_state(convs):
    state = {}
    for name, (w, b) in convs.items():
        state[f"features.{TV_INDEX[name]}.weight"], state[f"features.{TV_INDEX[name]}.bias"] = w, b
    return state


def _same(loaded, convs):
    assert list(loaded.convs) == list(convs)
    for name, (w, b) in convs.items():
        assert torch.equal(loaded.convs[name][0], w) and torch.equal(loaded.convs[name][1], b)


def test_local_safetensors_in_torchvision_layout(tmp_path):
    convs = _random_convs()
    path = tmp_path / "vgg.safetensors"
    save_file(_torchvision_state(convs), str(path))
    w = load_weights(str(path))
    _same(w, convs)
    assert w.preprocess == TORCHVISION and w.deepest == "conv2_1"


def test_safetensors_metadata_picks_the_preprocessing(tmp_path):
    path = tmp_path / "caffe.safetensors"
    save_file(_torchvision_state(_random_convs()), str(path), metadata={"nst_preprocess": "caffe"})
    assert load_weights(str(path)).preprocess == CAFFE


def test_local_pth_with_paper_names(tmp_path):
    convs = _random_convs()
    state = {f"{n}.{k}": t for n, (w, b) in convs.items() for k, t in (("weight", w), ("bias", b))}
    path = tmp_path / "vgg.pth"
    torch.save(state, path)
    _same(load_weights(str(path)), convs)


class _Payload:  # a pickle that runs code on load: must be refused, not executed
    def __reduce__(self):
        return (print, ("pwned",))


def test_pth_with_code_in_it_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": _Payload()}, path)
    with pytest.raises(WeightsError, match="cannot be loaded safely"):
        load_weights(str(path))


def test_torchvision_source_from_a_file_url(tmp_path, monkeypatch):
    convs = _random_convs()
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(_torchvision_state(convs), path)
    monkeypatch.setenv("NST_TORCHVISION_URL", path.as_uri())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    _same(load_weights("torchvision"), convs)
    assert (tmp_path / "torch_home" / "hub" / "checkpoints" / path.name).is_file()  # cached


def _offline_hub(monkeypatch, cache):
    import huggingface_hub.constants as hf

    for var in ("HF_HUB_CACHE", "HF_HOME"):
        monkeypatch.setenv(var, str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads these once at import; an earlier import elsewhere must not win
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)


def test_hub_source_from_an_offline_cache(tmp_path, monkeypatch):
    convs = _random_convs()
    commit = hashlib.sha1(b"nst test").hexdigest()
    repo = tmp_path / "hub" / "models--someone--vgg19-test"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    save_file(_torchvision_state(convs), str(snapshot / "weights.safetensors"))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    _offline_hub(monkeypatch, tmp_path / "hub")
    _same(load_weights("hub:someone/vgg19-test:weights.safetensors"), convs)


@pytest.mark.parametrize("source, setup", [
    ("hub:someone/not-cached", lambda mp, tmp: _offline_hub(mp, tmp / "empty")),
    ("torchvision", lambda mp, tmp: mp.setenv("NST_TORCHVISION_URL", (tmp / "nope.pth").as_uri())),
    ("/no/such/vgg19.safetensors", lambda mp, tmp: None),
    ("resnet50", lambda mp, tmp: None),
])
def test_unreachable_source_gives_one_clear_error(tmp_path, monkeypatch, source, setup):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    setup(monkeypatch, tmp_path)
    with pytest.raises(WeightsError) as err:
        load_weights(source)
    message = str(err.value)
    assert source.removeprefix("hub:") in message and "'vgg19'" in message and "offline" in message
    shown_alone = err.value.__context__ is None or err.value.__suppress_context__  # no chained trace
    assert "\n" not in message and err.value.__cause__ is None and shown_alone


def _fold_caffe_into_torchvision(convs):
    """conv1_1 of the Caffe model, rewritten for torchvision's input (RGB, (x/255 - m)/s):
    caffe sees x_bgr - mean_bgr; with x_c = 255 (s_c t_c + m_c) that is a conv of t with weights
    W[:, 2-c] * 255 s_c, plus a constant that moves into the bias."""
    w, b = convs["conv1_1"]
    m, s = torch.tensor(TORCHVISION.mean), torch.tensor(TORCHVISION.std)
    caffe_mean_rgb = torch.tensor(CAFFE.mean).flip(0)
    w_rgb = w.flip(1)  # input channels BGR -> RGB
    w_t = w_rgb * (255 * s).view(1, 3, 1, 1)
    b_t = b + (w_rgb * (255 * m - caffe_mean_rgb).view(1, 3, 1, 1)).sum((1, 2, 3))
    return {"conv1_1": (w_t, b_t), **{n: convs[n] for n in FIRST[1:]}}


def test_real_vgg19_refolded_for_torchvision_gives_the_same_features(tmp_path):
    caffe = load_weights("vgg19")
    path = tmp_path / "vgg19_first_layers.safetensors"
    save_file(_torchvision_state(_fold_caffe_into_torchvision(caffe.convs)), str(path))
    assert path.stat().st_size < 1_000_000 and load_weights(str(path)).preprocess == TORCHVISION

    net_tv, net_caffe = load_vgg(str(path)), load_vgg("vgg19")
    g = torch.Generator().manual_seed(1)
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 12, 12, generator=g) * 255, size=48,
                                        mode="bilinear")
    ours, theirs = net_tv(x, FIRST), net_caffe(x, FIRST)
    for name in FIRST:
        # zero padding is a slightly different colour in the two input spaces: skip the rim
        a, b = ours[name][..., 3:-3, 3:-3], theirs[name][..., 3:-3, 3:-3]
        assert (a - b).norm() / b.norm() < 1e-3, name
    # the calibration that maps other sources to the reference's scale finds nothing to fix
    torch.testing.assert_close(net_tv.gains, torch.ones(len(FIRST)), rtol=0, atol=2e-2)
    assert LAYERS.index(net_tv.names[-1]) == 2


def test_a_source_that_cannot_be_calibrated_says_so(tmp_path, monkeypatch):
    """Without the reference weights another source keeps its own activation scale; the user is
    told in a sentence instead of silently getting a different look from the same alpha/beta."""
    import nst.vgg
    path = tmp_path / "vgg19_first_layers.safetensors"
    save_file(_torchvision_state(_fold_caffe_into_torchvision(load_weights("vgg19").convs)), str(path))
    real = nst.vgg.load_weights

    def no_reference(source):
        if source == "vgg19":
            raise WeightsError("the reference is not installed")
        return real(source)

    monkeypatch.setattr(nst.vgg, "load_weights", no_reference)
    nst.vgg.load_vgg.cache_clear()
    with pytest.warns(UserWarning, match="could not calibrate.*alpha/beta"):
        net = nst.vgg.load_vgg(str(path))
    nst.vgg.load_vgg.cache_clear()
    assert not net.calibrated

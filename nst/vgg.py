"""The VGG-19 trunk: 16 conv layers and 4 pools, frozen, with taps by the paper's layer names.

A tap `convB_C` is the activation *after* the ReLU of that conv layer (the paper's F^l, which is
why its analytic gradients vanish where F <= 0). The forward pass stops after the deepest tap asked
for, so a run that only needs conv4_2 never pays for block 5.
"""
from __future__ import annotations

import functools
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .settings import LAYERS
from .weights import CAFFE, VGGWeights, load_weights

POOL_AFTER = {"conv1_2", "conv2_2", "conv3_4", "conv4_4"}


def pools_before(layer: str) -> int:
    """How many 2x2 pools VGG-19 applies before `layer`: one per block before its own."""
    return int(layer[4]) - 1


class VGG19(nn.Module):
    def __init__(self, weights: VGGWeights):
        super().__init__()
        self.source = weights.source
        self.preprocess = weights.preprocess
        self.names = list(weights.convs)
        self.convs = nn.ModuleList()
        for w, b in weights.convs.values():
            conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
            conv.weight.data.copy_(w)
            conv.bias.data.copy_(b)
            self.convs.append(conv)
        # Per-layer feature gains that bring other sources to the reference's activation scale,
        # so that one alpha/beta works for every source (see calibrate()).
        self.register_buffer("gains", torch.ones(len(self.names)))
        self.calibrated = False  # until calibrate() runs the gains are all 1: skip the multiply
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor, taps, pooling: str = "avg") -> dict:
        """x: RGB in 0..255, shape (B, 3, H, W). Returns {tap: post-ReLU activation}."""
        unknown = set(taps) - set(self.names)
        if unknown:
            raise ValueError(f"layer {sorted(unknown)[0]!r} is not in these weights "
                             f"(they stop at {self.names[-1]})")
        deepest = max(LAYERS.index(t) for t in taps)
        pool = F.avg_pool2d if pooling == "avg" else F.max_pool2d
        out = {}
        h = self.preprocess(x)
        for i, (name, conv) in enumerate(zip(self.names, self.convs)):
            h = F.relu(conv(h), inplace=True)  # as in torchvision: saves a copy per layer
            if name in taps:
                out[name] = h * self.gains[i] if self.calibrated else h
            if i == deepest:
                break
            if name in POOL_AFTER:
                h = pool(h, 2, 2)
        return out

    @torch.no_grad()
    def calibrate(self, reference: "VGG19") -> "VGG19":
        """Set gains so each layer's RMS activation on a fixed test image matches `reference`."""
        g = torch.Generator().manual_seed(0)
        img = F.interpolate(torch.rand(1, 3, 16, 16, generator=g) * 255, size=128, mode="bicubic")
        img = img.clamp(0, 255).to(self.gains.device)
        names = [n for n in self.names if n in reference.names]
        ours, theirs = self(img, names), reference.to(img.device)(img, names)
        for n in names:
            i = self.names.index(n)
            rms = ours[n].pow(2).mean().sqrt() / self.gains[i]
            self.gains[i] = theirs[n].pow(2).mean().sqrt() / rms.clamp_min(1e-12)
        self.calibrated = True
        return self


@functools.lru_cache(maxsize=4)
def load_vgg(source: str = "vgg19", device: str = "cpu", channels_last: bool = False) -> VGG19:
    """The frozen trunk for a weight source on a device (built once per combination)."""
    net = VGG19(load_weights(source))
    if net.preprocess is not CAFFE and source != "vgg19":
        try:
            net.calibrate(VGG19(load_weights("vgg19")))
        except Exception as e:  # the reference is optional; without it the gains stay 1
            warnings.warn(f"could not calibrate weights {source!r} against the reference VGG-19 "
                          f"({type(e).__name__}: {e}); its activations keep their own scale, so "
                          f"the default alpha/beta may need tuning for it", stacklevel=2)
    net = net.to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net

"""This machine's measured speed: which device there is, and how long a step takes on it.

A calibration of a few seconds times real optimisation steps (VGG-19 forward + input gradient,
the losses and the optimizer update) at two image sizes, for each precision and optimizer the
planner may use, and a matmul in each precision (the practical peak a step's MFU is measured
against). The result, seconds per step as a function of pixels, is cached per machine, device
and torch version, and every real run refreshes it with what it observed. No CPU model, flag or
vendor table decides anything here; nst/budget.py decides from these measurements.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import re
import statistics
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .descent import Descent
from .objective import Objective
from .settings import LAYERS, Settings
from .vgg import load_vgg

CACHE_VERSION = 4  # a cache written by another layout of Speed is measured again, not misread


# ---------------------------------------------------------------------------- devices
def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps; got {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use device='auto'")
    return dev


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe(device: torch.device) -> dict:
    """What this machine is, for cache keys and benchmark tables: the CPU model as the CPU names
    itself (and its family and model numbers, which tell apart CPUs that share a name), its
    vector unit and bf16/AMX flags as torch reads them, cores, threads, the GPU."""
    cpu, family = platform.processor() or platform.machine(), None
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"model name\s*:\s*(.+)", text)
        cpu = m.group(1).strip() if m else cpu
        f, mo = re.search(r"cpu family\s*:\s*(\d+)", text), re.search(r"\nmodel\s*:\s*(\d+)", text)
        family = f"{f[1]}/{mo[1]}" if f and mo else None
    flags = {}
    with contextlib.suppress(Exception):
        flags = {k: bool(v) for k, v in torch.cpu.get_capabilities().items()
                 if k in ("avx512_bf16", "amx_bf16", "amx_tile")}
    info = {"cpu": cpu, "cpu_family": family, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "simd": torch.backends.cpu.get_cpu_capability(), "cpu_bf16_flags": flags,
            "torch": torch.__version__, "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def flops_per_step(h: int, w: int, deepest: str = "conv5_1") -> float:
    """Floating-point operations of one step at h x w: VGG-19's convolutions up to `deepest`,
    forward (2 C_in C_out 9 H W per conv) plus the input gradient (the same again; the weights
    take no gradient). Losses and the optimizer are a rounding error beside them."""
    total, c_in = 0.0, 3
    widths = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
    for name in LAYERS[: LAYERS.index(deepest) + 1]:
        block, conv = int(name[4]), int(name[6])
        if conv == 1 and block > 1:
            h, w = h // 2, w // 2  # the pool before this block
        total += 2 * c_in * widths[block] * 9 * h * w
        c_in = widths[block]
    return 2 * total


# ---------------------------------------------------------------------------- the model
# a curve not observed yet is predicted from its nearest one: a line-search step as a
# one-evaluation step, bf16 L-BFGS's one evaluation as bf16 Adam's
UNTIMED = {"fp32/lbfgs-search": "fp32/lbfgs", "bf16/lbfgs": "bf16/adam"}


def curve_key(precision: str, optimizer: str) -> str:
    """The one mapping from a level's optimizer to the curve its steps are filed under and
    predicted from. 'adam' and 'polish' (L-BFGS, one evaluation a step) run in the run's
    precision; 'lbfgs' (a strong-Wolfe line search, up to 20 evaluations a step, fp32 only) has
    a curve of its own, so its dearer steps never skew the plan of the others."""
    if optimizer == "adam":
        return f"{precision}/adam"
    return f"{precision}/lbfgs" if optimizer == "polish" else "fp32/lbfgs-search"


@dataclass
class Curve:
    """Seconds per step against pixels for one curve: measured points, fitted as t = c * pixels^e
    by least squares in log space over the points of 64 x 64 px and more (smaller ones are all
    overhead), e kept within 0.7..1.3 so noise cannot extrapolate wildly. Real runs add points;
    one bucket per ~sqrt(2) in pixels keeps the newest measurement weighted with the old (a
    neighbour slowing the machine shows up in the next plan)."""

    points: dict = field(default_factory=dict)  # bucket -> [pixels, seconds]

    def add(self, pixels: float, seconds: float, weight: float = 1.0) -> None:
        key = str(round(2 * math.log2(max(pixels, 1))))
        old = self.points.get(key)
        if old and weight < 1:
            pixels = old[0] ** (1 - weight) * pixels ** weight
            seconds = old[1] ** (1 - weight) * seconds ** weight
        self.points[key] = [pixels, seconds]

    def __call__(self, pixels: float) -> float:
        pts = sorted(self.points.values())
        if not pts:
            raise ValueError("no measurement")
        big = [(math.log(p), math.log(t)) for p, t in pts if p >= 64 * 64]
        if len(big) >= 2 and big[-1][0] - big[0][0] > 0.5:
            mx = sum(x for x, _ in big) / len(big)
            my = sum(y for _, y in big) / len(big)
            e = sum((x - mx) * (y - my) for x, y in big) / sum((x - mx) ** 2 for x, _ in big)
            e = min(1.3, max(0.7, e))
            return math.exp(my + e * (math.log(pixels) - mx))
        if len(pts) == 1:
            return pts[0][1] * (pixels / pts[0][0])
        # interpolate between the neighbours; beyond the ends, the slope of the outer pair
        i = min(max(1, next((k for k, p in enumerate(pts) if p[0] >= pixels), len(pts) - 1)), len(pts) - 1)
        (p0, t0), (p1, t1) = pts[i - 1], pts[i]
        e = math.log(t1 / t0) / math.log(p1 / p0) if p1 > p0 else 1.0
        if not (p0 <= pixels <= p1):
            e = min(1.4, max(0.6, e))
        ref_p, ref_t = (p0, t0) if pixels < p0 else (p1, t1) if pixels > p1 else (p0, t0)
        return ref_t * (pixels / ref_p) ** e


@dataclass
class Speed:
    """This machine's measured speed: a Curve per curve_key ('fp32/adam', 'fp32/lbfgs',
    'bf16/adam', 'fp32/lbfgs-search' once observed), and the best matmul rate seen in each
    precision (a practical peak, the denominator of a step's MFU)."""

    key: str
    curves: dict = field(default_factory=dict)
    peak_flops: dict = field(default_factory=dict)  # precision -> FLOP/s
    measured: dict = field(default_factory=dict)  # what calibrate() timed, for docs and tests
    memory: dict = field(default_factory=dict)  # precision -> [bytes, bytes per pixel] of a whole-picture step's peak

    def step(self, precision: str, optimizer: str, pixels: float) -> float:
        """Predicted seconds of one step of a level optimizer ('adam', 'polish', 'lbfgs') at this
        many pixels. ValueError (a sentence) for bf16 where it was never measured."""
        key = curve_key(precision, optimizer)
        curve = self.curves.get(key)
        if curve is None and key in UNTIMED:
            curve = self.curves.get(UNTIMED[key])
        if curve is None:
            raise ValueError(f"{precision} was not measured on this device, so a time budget cannot "
                             f"be planned in it; use precision auto or fp32")
        return curve(pixels)

    def peak(self, precision: str) -> float | None:
        return self.peak_flops.get(precision) or None

    def bytes(self, precision: str, pixels: float) -> float | None:
        """Predicted peak memory of a whole-picture Adam step (its targets, its state, the
        activations it keeps for the gradient) at this many pixels; None where not measured."""
        model = self.memory.get(precision) or self.memory.get("fp32")
        return None if not model else model[0] + model[1] * pixels

    def to_json(self) -> dict:
        return {"key": self.key, "peak_flops": self.peak_flops, "measured": self.measured,
                "memory": self.memory, "curves": {k: c.points for k, c in self.curves.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "Speed":
        return cls(d["key"], {k: Curve(dict(v)) for k, v in d["curves"].items()},
                   dict(d.get("peak_flops") or {}), d.get("measured", {}), dict(d.get("memory") or {}))


# ---------------------------------------------------------------------------- the cache
def cache_dir() -> Path:
    """Where the model is kept: $NST_CACHE, else $XDG_CACHE_HOME/nst, else ~/.cache/nst."""
    base = os.environ.get("NST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nst")
    return Path(base)


def _fallback_dir() -> Path:
    """Where the model goes when cache_dir() cannot be written: this user's temporary folder."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"nst-{uid}"


def machine_key(device: torch.device, weights: str) -> str:
    """Machine (CPU model, family and vector unit, or GPU), threads, torch version, weight source."""
    d = describe(device)
    text = json.dumps([CACHE_VERSION, d["cpu"], d["cpu_family"], d["simd"], d["threads"], d.get("gpu"),
                       d["torch"], str(device), weights])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


_SPEEDS: dict[str, Speed] = {}
_LOCK = threading.RLock()
_WARNED: set[str] = set()


def measured(device: torch.device | str = "auto", weights: str | None = None, *, fresh: bool = False,
          measure: bool = True) -> Speed | None:
    """This machine's Speed: from memory, else the on-disk cache, else a calibration now (with
    measure=False: None instead, for a run that only wants to refresh a model that exists)."""
    device = resolve_device(device) if isinstance(device, str) else device
    weights = weights or Settings().weights
    key = machine_key(device, weights)
    with _LOCK:
        if not fresh and key in _SPEEDS:
            return _SPEEDS[key]
        found = None if fresh else _read_cache().get(key)
        if not found and not measure:
            return None
        sp = Speed.from_json(found) if found else calibrate(device, weights, key)
        _SPEEDS[key] = sp
        if not found:
            _write_cache(sp)
        return sp


def forget() -> None:
    """Drop the models held in memory (the next measured() reads the cache again)."""
    with _LOCK:
        _SPEEDS.clear()


def _read_cache() -> dict:
    table = {}
    for folder in (_fallback_dir(), cache_dir()):  # the one that can be written wins
        with contextlib.suppress(OSError, ValueError):
            table.update(json.loads((folder / "speed.json").read_text()))
    return table


def _write_cache(sp: Speed) -> None:
    """Write the model to cache_dir(); where that cannot be written (a read-only home), say so
    once and keep it in the temporary folder instead, so the next run does not measure again."""
    for folder in (cache_dir(), _fallback_dir()):
        path = folder / "speed.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            table = {}
            with contextlib.suppress(OSError, ValueError):
                table = json.loads(path.read_text())
            table[sp.key] = sp.to_json()
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(table))
            tmp.replace(path)  # atomic: two processes never leave half a file
            return
        except OSError as e:
            if str(folder) not in _WARNED:
                _WARNED.add(str(folder))
                warnings.warn(f"the speed cache {folder} cannot be written ({e.strerror or e}); "
                              + (f"keeping it in {_fallback_dir()} instead" if folder == cache_dir()
                                 else "this machine will be measured again by the next run"),
                              RuntimeWarning, stacklevel=3)


def observe(sp: Speed, precision: str, optimizer: str, pixels: float, seconds: float) -> None:
    """A real run's measured seconds per step of a level optimizer refresh the model (and the
    cache), in the curve curve_key() names."""
    if not (seconds > 0 and math.isfinite(seconds)):
        return
    with _LOCK:
        curve = sp.curves.setdefault(curve_key(precision, optimizer), Curve())
        curve.add(pixels, seconds, weight=0.3)
        _write_cache(sp)


# ---------------------------------------------------------------------------- calibration
def _time_steps(net, device, fmt, side: int, precision: str, optimizer: str, steps: int, gen) -> float:
    """Median seconds of real steps (the engine's own Descent, not a model of it) at side x side;
    the first, which sets up kernels, is not counted."""
    s = Settings(size=side, steps=steps, precision=precision)
    img = (torch.rand(1, 3, side, side, generator=gen) * 255).to(device)
    d = Descent(Objective(net, s, img, [img.flip(-1)], [1.0], (side, side), _autocast(device, precision), fmt),
                img, optimizer, s.lr)
    times = []
    for _ in range(steps + 1):
        sync(device)
        t = time.perf_counter()
        d.step()
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def _autocast(device: torch.device, precision: str):
    return (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if precision == "bf16" \
        else contextlib.nullcontext


def _kept_bytes(net, device, fmt, side: int, precision: str, gen) -> tuple[int, int]:
    """(all, largest) bytes of the tensors one whole-picture evaluation keeps for its gradient,
    counted as autograd saves them (each storage once): what the allocator does with freed
    memory cannot blur it, as it blurs the resident size."""
    img = (torch.rand(1, 3, side, side, generator=gen) * 255).to(device)
    o = Objective(net, Settings(precision=precision), img, [img.flip(-1)], [1.0], (side, side),
                  _autocast(device, precision), fmt)
    kept = {}

    def pack(t):
        storage = t.untyped_storage()
        kept[storage.data_ptr()] = storage.nbytes()
        return t
    x = img.clone().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        o(x)
    return sum(kept.values()), max(kept.values())


def _memory_model(net, device, fmt, precision: str, gen, sides=(160, 320)) -> list:
    """[bytes, bytes per pixel] of a whole-picture step's peak: what its evaluation keeps for the
    gradient (measured at two sizes: the slope is per pixel, the rest the weights), one gradient
    buffer of the largest map beside it while the gradient flows back, and the fp32 pictures a
    step holds at its size (the pixels, their gradient, Adam's two moments, the best and latest
    picture, the photo and the painting: 12 bytes a pixel each) with the content maps (32)."""
    (a, _), (b, largest) = (_kept_bytes(net, device, fmt, side, precision, gen) for side in sides)
    per_px = (b - a) / (sides[1] ** 2 - sides[0] ** 2)
    return [max(0.0, a - per_px * sides[0] ** 2), per_px + largest / sides[1] ** 2 + 8 * 12 + 32]


def free_memory(device: torch.device) -> int | None:
    """Bytes this process may still take: the GPU's free memory; on Linux the memory available
    (MemAvailable), within a container's limit where one is set; None where it cannot be read."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    free = None
    with contextlib.suppress(OSError, ValueError, TypeError):
        free = int(re.search(r"MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text())[1]) * 1024
    for cap, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                      ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        with contextlib.suppress(OSError, ValueError):
            limit = Path(cap).read_text().strip()
            if limit.isdigit() and int(limit) < 1 << 60:
                left = int(limit) - int(Path(used).read_text())
                free = left if free is None else min(free, left)
            break
    return free


def calibrate(device: torch.device, weights: str, key: str | None = None) -> Speed:
    """Time real steps: fp32 Adam at two sizes and fp32 L-BFGS at one (its curve is Adam's,
    scaled); bf16 Adam is probed at a small size first and timed at the two sizes only if the
    probe did not already lose by 4x (an emulated bf16 is 10-30x slower, and a full timing of it
    would cost tens of seconds). A few seconds on a 2-core CPU, well under one on a GPU."""
    key = key or machine_key(device, weights)
    gpu = device.type != "cpu"
    small, large = (256, 768) if gpu else (96, 224)
    channels_last = device.type in ("cpu", "cuda")
    net = load_vgg(weights, str(device), channels_last)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    gen = torch.Generator().manual_seed(0)
    timed = lambda side, precision, opt, n: _time_steps(net, device, fmt, side, precision, opt, n, gen)  # noqa: E731

    curves, measured = {}, {}
    fp32 = Curve()
    for side in (small, large):
        measured[f"fp32/adam@{side}"] = t = timed(side, "fp32", "adam", 3)
        fp32.add(side * side, t)
    curves["fp32/adam"] = fp32
    memory = {"fp32": _memory_model(net, device, fmt, "fp32", gen)}
    measured[f"fp32/lbfgs@{small}"] = t_lbfgs = timed(small, "fp32", "polish", 3)
    ratio = t_lbfgs / measured[f"fp32/adam@{small}"]
    curves["fp32/lbfgs"] = Curve({k: [p, s * ratio] for k, (p, s) in fp32.points.items()})
    peaks = {"fp32": _peak_flops(device, torch.float32)}
    # bf16: a probe at a tiny size first. Emulated bf16 loses there by 10x or more, while real
    # bf16 stays within a few times of fp32 even where overheads dominate.
    probe = 32 if not gpu else small
    if device.type != "mps":
        try:
            t_probe = timed(probe, "bf16", "adam", 1)
        except RuntimeError:  # no bf16 kernels on this device at all
            t_probe = None
        if t_probe is not None:
            t_fp32 = timed(probe, "fp32", "adam", 1) if probe != small else measured[f"fp32/adam@{small}"]
            measured[f"bf16/adam@{probe}"], measured[f"fp32/adam@{probe}"] = t_probe, t_fp32
            bf16 = Curve({"probe": [probe * probe, t_probe]})
            if t_probe <= 4 * t_fp32:
                bf16 = Curve()
                for side in (small, large):
                    measured[f"bf16/adam@{side}"] = t = timed(side, "bf16", "adam", 3)
                    bf16.add(side * side, t)
                peaks["bf16"] = _peak_flops(device, torch.bfloat16)
                memory["bf16"] = _memory_model(net, device, fmt, "bf16", gen)
            elif not gpu:  # lost: its curve is fp32's times the loss, so it is never chosen
                bf16 = Curve({k: [p, t * t_probe / t_fp32] for k, (p, t) in fp32.points.items()})
            curves["bf16/adam"] = bf16
    return Speed(key, curves, peaks, measured, memory)


def _peak_flops(device: torch.device, dtype: torch.dtype) -> float:
    """The best matmul rate of a few tries in `dtype`: this machine's practical peak in that
    precision (nanoGPT's estimate_mfu uses the vendor's figure, which a CPU has none of)."""
    n = 4096 if device.type != "cpu" else 1536
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    best = math.inf
    for _ in range(5):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best

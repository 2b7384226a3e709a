"""The machine policy, in one place: which device, which arithmetic, and what size and how many
steps fit a visitor's time budget on *this* machine, decided by measuring it.

A calibration of a few seconds times real optimisation steps (VGG-19 forward + input gradient,
the losses and the optimizer update) at two image sizes, for each precision and optimizer the
planner may use. The result, seconds per step as a function of pixels, is cached per machine,
device and torch version, and every real run refreshes it with what it observed. No CPU model,
flag or vendor table decides anything: bf16 is used where it was *measured* faster than fp32.
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
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .settings import LAYERS, Settings

GRID = 32  # planned sizes are multiples of this
SMALLEST, LARGEST = 128, 4096  # px, long side the planner may choose (callers cap it lower)
# Steps a picture needs, in full-size equivalents (a pyramid level of a quarter the pixels counts
# a quarter), at 256 x 256 px, growing almost in proportion to the pixels: a finer picture has
# more detail to settle. Measured by `bench/quality.py --sweep` (the paper's objective at 512 px
# at the deadline, chelsea x The Starry Night, fp32 on a 2-core AVX2 CPU): at 15 s 384 px ended
# lowest (1.83e11; 288 px 2.20e11, 512 px 2.08e11), at 45 s 512 px (5.7e10; 448 px 8.2e10,
# 640 px 9.2e10); 7 picks both (8 fell one step short of 512 at 45 s and took 480: 7.4e10).
# Adam's need keeps its ratio to L-BFGS's of the hand-tuned tables before this planner (32:21);
# no bf16 machine measured it.
NEED_AT_256 = {"adam": 11.0, "adam+lbfgs": 7.0, "lbfgs": 7.0}
NEED_POWER = 0.9  # ... times (pixels / 256^2) to this power
FIRST_FRAME = 0.6  # s: the first level is sized so that its set-up and first step take this
BF16_GAIN = 1.15  # bf16 must be measured this much faster than fp32 to be chosen
OVERRUN = 1.1  # a budget's tolerance: a given size or steps predicted to need more is refused


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
    itself, its vector unit and bf16/AMX flags as torch reads them, cores, threads, the GPU."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else cpu
    flags = {}
    with contextlib.suppress(Exception):
        flags = {k: bool(v) for k, v in torch.cpu.get_capabilities().items()
                 if k in ("avx512_bf16", "amx_bf16", "amx_tile")}
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "simd": torch.backends.cpu.get_cpu_capability(), "cpu_bf16_flags": flags,
            "torch": torch.__version__, "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


# ---------------------------------------------------------------------------- the speed model
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


@dataclass
class Curve:
    """Seconds per step against pixels for one (precision, optimizer): measured points, fitted
    as t = c * pixels^e by least squares in log space over the points of 64 x 64 px and more
    (smaller ones are all overhead), e kept within 0.7..1.3 so noise cannot extrapolate wildly.
    Real runs add points; one bucket per ~sqrt(2) in pixels keeps the newest measurement
    weighted with the old (a neighbour slowing the machine shows up in the next plan)."""

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
        if not (pixels >= p0 and pixels <= p1):
            e = min(1.4, max(0.6, e))
        ref_p, ref_t = (p0, t0) if pixels < p0 else (p1, t1) if pixels > p1 else (p0, t0)
        return ref_t * (pixels / ref_p) ** e


@dataclass
class Speed:
    """This machine's measured speed: a Curve per 'precision/optimizer' ('fp32/adam',
    'fp32/lbfgs', 'bf16/adam'), and the best matmul rate seen (a practical peak, for MFU)."""

    key: str
    curves: dict = field(default_factory=dict)
    peak_flops: float = 0.0
    measured: dict = field(default_factory=dict)  # what calibrate() timed, for README and tests

    def step(self, precision: str, optimizer: str, pixels: float) -> float:
        """Seconds per step; 'adam+lbfgs' and 'polish' steps cost what an L-BFGS step costs."""
        opt = "adam" if optimizer == "adam" or precision == "bf16" else "lbfgs"
        curve = self.curves.get(f"{precision}/{opt}") or self.curves[f"{precision}/adam"]
        return curve(pixels)

    def bf16_faster(self, pixels: float = 256 * 256) -> bool:
        """Was bf16 measured faster than fp32 here, by a margin worth its noise?"""
        if "bf16/adam" not in self.curves:
            return False
        return self.step("fp32", "adam", pixels) >= BF16_GAIN * self.step("bf16", "adam", pixels)

    def to_json(self) -> dict:
        return {"key": self.key, "peak_flops": self.peak_flops, "measured": self.measured,
                "curves": {k: c.points for k, c in self.curves.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "Speed":
        return cls(d["key"], {k: Curve(dict(v)) for k, v in d["curves"].items()},
                   d.get("peak_flops", 0.0), d.get("measured", {}))


def _cache_file() -> Path:
    base = os.environ.get("NST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nst")
    return Path(base) / "speed.json"


def machine_key(device: torch.device, weights: str) -> str:
    """Machine (CPU model and vector unit, or GPU), threads, torch version and weight source."""
    d = describe(device)
    text = json.dumps([d["cpu"], d["simd"], d["threads"], d.get("gpu"), d["torch"], str(device), weights])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


_SPEEDS: dict[str, Speed] = {}
_LOCK = threading.Lock()


def speed(device: torch.device | str = "auto", weights: str | None = None, *, fresh: bool = False,
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


def _read_cache() -> dict:
    try:
        return json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(sp: Speed) -> None:
    path = _cache_file()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        table = _read_cache()
        table[sp.key] = sp.to_json()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table))
        tmp.replace(path)  # atomic: two processes never leave half a file


def observe(sp: Speed, precision: str, optimizer: str, pixels: float, seconds: float) -> None:
    """A real run's measured seconds per step refresh the model (and the cache)."""
    if not (seconds > 0 and math.isfinite(seconds)):
        return
    opt = "adam" if optimizer == "adam" or precision == "bf16" else "lbfgs"
    with _LOCK:
        curve = sp.curves.setdefault(f"{precision}/{opt}", Curve())
        curve.add(pixels, seconds, weight=0.3)
        _write_cache(sp)


def calibrate(device: torch.device, weights: str, key: str | None = None) -> Speed:
    """Time real steps: fp32 Adam at two sizes and fp32 L-BFGS at one (its curve is Adam's,
    scaled); bf16 Adam is probed at a small size first and timed at the larger one only if the
    probe did not already lose (an emulated bf16 is 10-30x slower, and a full timing of it would
    cost tens of seconds). A few seconds on a 2-core CPU, well under one on a GPU."""
    from .engine import Objective, _Descent  # the real step, not a model of it
    from .vgg import load_vgg

    key = key or machine_key(device, weights)
    gpu = device.type != "cpu"
    small, large = (256, 768) if gpu else (96, 224)
    channels_last = device.type in ("cpu", "cuda")
    net = load_vgg(weights, str(device), channels_last)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    gen = torch.Generator().manual_seed(0)

    def timed(side: int, precision: str, optimizer: str, steps: int) -> float:
        s = Settings(size=side, steps=steps, precision=precision)
        img = (torch.rand(1, 3, side, side, generator=gen) * 255).to(device)
        autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) \
            if precision == "bf16" else contextlib.nullcontext
        obj = Objective(net, s, img, [img.flip(-1)], [1.0], (side, side), autocast, fmt)
        d = _Descent(obj, img, "polish" if optimizer == "lbfgs" else "adam", s.lr)
        times = []
        for i in range(steps + 1):  # the first step sets up kernels: not counted
            sync(device)
            t = time.perf_counter()
            d.step()
            sync(device)
            times.append(time.perf_counter() - t)
        return statistics.median(times[1:])

    curves, measured = {}, {}
    fp32 = Curve()
    for side, n in ((small, 3), (large, 3)):
        t = timed(side, "fp32", "adam", n)
        fp32.add(side * side, t)
        measured[f"fp32/adam@{side}"] = t
    curves["fp32/adam"] = fp32
    t_lbfgs = timed(small, "fp32", "lbfgs", 3)
    measured[f"fp32/lbfgs@{small}"] = t_lbfgs
    ratio = t_lbfgs / measured[f"fp32/adam@{small}"]
    curves["fp32/lbfgs"] = Curve({k: [p, s * ratio] for k, (p, s) in fp32.points.items()})
    # bf16: a probe at a tiny size first. Emulated bf16 loses there by 10x or more (measured 20x
    # on a CPU without AVX512-BF16), while real bf16 stays within a few times of fp32 even where
    # overheads dominate; only a probe that did not already lose is timed at the two sizes.
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
            elif not gpu:  # lost: its curve is fp32's times the loss, so it is never chosen
                bf16 = Curve({k: [p, t * t_probe / t_fp32] for k, (p, t) in fp32.points.items()})
            curves["bf16/adam"] = bf16
    return Speed(key, curves, _peak_flops(device), measured)


def _peak_flops(device: torch.device) -> float:
    """The best fp32 matmul rate of a few tries: this machine's practical peak (the denominator
    of a step's MFU; nanoGPT's estimate_mfu uses the vendor's figure, which a CPU has none of)."""
    n = 4096 if device.type != "cpu" else 1536
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = math.inf
    for _ in range(5):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


# ---------------------------------------------------------------------------- choosing
def resolve(settings: Settings, sp: Speed | None = None) -> tuple[torch.device, str, str]:
    """(device, precision, optimizer) after 'auto'. L-BFGS always runs in fp32: its curvature
    estimates do not survive bf16 gradient noise (measured: it stalls at 10x the fp32 loss or
    diverges with a line search).

    precision 'auto' takes bf16 only where this machine's calibration measured it faster than
    fp32. optimizer 'auto' then takes what reached the paper's objective soonest (README, Quality
    per second): with bf16, Adam at every level (L-BFGS cannot run there); in fp32 'adam+lbfgs',
    Adam at the cheap coarse levels and L-BFGS at full size; one level alone: L-BFGS."""
    device = resolve_device(settings.device)
    opt, prec = settings.optimizer, settings.precision  # lbfgs + bf16: refused by validate()
    if prec == "auto":
        fast = opt != "lbfgs" and (sp or speed(device, settings.weights)).bf16_faster()
        prec = "bf16" if fast else "fp32"
    if opt == "auto":
        opt = "adam" if prec == "bf16" else "adam+lbfgs" if settings.pyramid else "lbfgs"
    return device, prec, opt


def side_pixels(wh: tuple[int, int], long_side: int) -> int:
    """Pixels of a picture of aspect wh painted at long_side."""
    w, h = wh
    s = long_side / max(w, h)
    return max(1, round(w * s)) * max(1, round(h * s))


def need_steps(optimizer: str, pixels: float) -> float:
    """Full-size-equivalent steps a picture of this many pixels needs (see NEED_AT_256)."""
    return NEED_AT_256.get(optimizer, NEED_AT_256["adam"]) * (pixels / 256**2) ** NEED_POWER


@dataclass
class Plan:
    """What a budget buys on this machine: the size, the steps, the arithmetic, the optimizer,
    and the seconds the model predicts."""

    size: int
    steps: int
    precision: str
    optimizer: str
    seconds: float  # predicted wall time of the steps
    budget: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def cost(sp: Speed, precision: str, optimizer: str, wh, levels) -> float:
    """Predicted seconds of a level plan [(long side, steps)]: each level's steps at its pixels,
    plus its set-up (targets: about one step's forward passes)."""
    from .engine import level_optimizers

    opts = level_optimizers(optimizer, len(levels), False)
    total = 0.0
    for (side, n), opt in zip(levels, opts):
        t = sp.step(precision, "adam" if opt == "adam" else "lbfgs", side_pixels(wh, side))
        total += (n + 1) * t
    return total


def plan(settings: Settings, wh: tuple[int, int], seconds: float, sp: Speed | None = None,
         max_size: int = LARGEST) -> Plan:
    """The size and steps that fill `seconds` on this machine for a photo of size wh: the largest
    size (a multiple of GRID, at most max_size) at which the picture still gets the steps it needs
    (need_steps), then as many steps as the budget holds. A size or steps given in `settings` is
    kept: steps fixed, the size is the largest that fits them; size fixed, the steps fit."""
    from .engine import plan_levels

    sp = sp or speed(settings.device, settings.weights)
    device, precision, optimizer = resolve(settings, sp)

    def levels(side, n):
        return plan_levels(side, n, settings.pyramid, coarsest=first_side(sp, precision, wh, side))

    def fit_steps(side) -> int:  # the most steps whose plan fits: cost grows with steps
        lo, hi = 1, 1
        while cost(sp, precision, optimizer, wh, levels(side, hi * 2)) <= seconds and hi < 100_000:
            hi *= 2
        hi *= 2
        while lo < hi - 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if cost(sp, precision, optimizer, wh, levels(side, mid)) <= seconds else (lo, mid)
        return lo

    def equivalent(side, n) -> float:  # full-size-equivalent steps of a plan
        full = side_pixels(wh, side)
        return sum(k * side_pixels(wh, s) / full for s, k in levels(side, n))

    top = max(GRID, min(max_size, LARGEST))
    sizes = list(range(top - top % GRID, SMALLEST - 1, -GRID)) or [top]
    if settings.size is not None:
        size = settings.size
    else:
        size = sizes[-1]
        for side in sizes:  # largest first
            n = settings.steps or fit_steps(side)
            if settings.steps:
                ok = cost(sp, precision, optimizer, wh, levels(side, n)) <= seconds
            else:
                ok = equivalent(side, n) >= need_steps(optimizer, side_pixels(wh, side))
            if ok:
                size = side
                break
    steps = settings.steps or fit_steps(size)
    return Plan(size, steps, precision, optimizer,
                cost(sp, precision, optimizer, wh, levels(size, steps)), seconds)


def check_budget(settings: Settings, wh: tuple[int, int], sp: Speed | None = None, *,
                 seconds: float | None = None, max_size: int = LARGEST, measure: bool = True) -> None:
    """Refuse in words a size, or a number of steps, given with a budget that cannot hold it on
    this machine: even the least plan around it (one step at that size; those steps at the
    smallest size), predicted from the measured speed, would end after OVERRUN x the budget.
    Run, it would end long after the time its caller was promised (seen: 512 px in bf16 with
    45 s ran 120 s on a CPU that emulates bf16). `seconds`: what the steps may take (default the
    whole budget; the CLI takes off its own start and finish). The budget plans both, or
    neither is given: nothing to check. No model (measure=False): nothing is said."""
    s = settings
    if s.seconds is None or s.levels or (s.size is None) == (s.steps is None):
        return
    sp = sp or speed(s.device, s.weights, measure=measure)
    if sp is None:
        return
    seconds = s.seconds if seconds is None else seconds
    p = plan(s, wh, seconds, sp, max_size=max_size)
    predicted = p.seconds + s.seconds - seconds
    if predicted <= OVERRUN * s.seconds:
        return
    if s.size is not None:
        said = (f"{s.seconds:g} s cannot hold a {s.size} px picture in {p.precision} on this "
                f"machine: even one step is predicted to end after about {predicted:.0f} s. Give "
                f"more seconds or a smaller size, or leave the size to the budget")
    else:
        said = (f"{s.steps} steps do not fit in {s.seconds:g} s on this machine, even at "
                f"{p.size} px: about {predicted:.0f} s predicted. Give fewer steps or more seconds, "
                f"or leave the steps to the budget")
    if p.precision == "bf16" and not sp.bf16_faster():
        said += " (bf16 was measured slower than fp32 here: precision auto would take fp32)"
    raise ValueError(said + ".")


def first_side(sp: Speed, precision: str, wh, size: int) -> int:
    """The least long side of the pyramid's coarsest level (plan_levels halves the size while it
    stays at or above this, so the coarsest level lies between it and twice it): about the pixels
    of a 3:2 photo at 90-128 px (a panorama gets a longer side for the same cost, not a sliver),
    or fewer on a machine too slow to show a first frame within FIRST_FRAME there (set-up, about
    two steps' worth, plus the first step)."""
    w, h = wh
    side = max(64, round(math.sqrt(128 * 85 * max(w, h) / min(w, h))))
    while side > 64 and 3 * sp.step(precision, "adam", side_pixels(wh, side)) > FIRST_FRAME:
        side -= GRID // 2
    return min(round(0.7 * side), size)


def process_age() -> float:
    """Seconds since this process started (Linux: /proc; elsewhere since this module loaded), so
    a command-line budget counts Python's start and the imports too."""
    try:
        start_ticks = float(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _LOADED


_LOADED = time.perf_counter()

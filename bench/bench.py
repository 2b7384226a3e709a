"""Engine benchmark (a script, not a test): seconds per optimisation step of a textbook fp32
implementation and of the engine in fp32 NCHW against the default fast path (bf16 autocast +
channels_last) in the same run, the wall time and quality of each preset, and peak memory. Prints a markdown table and writes
bench/results/<host-kind>.json.

    python bench/bench.py            # full: 7 timed steps per case, all presets
    python bench/bench.py --quick    # 3 timed steps per case, quick and balanced presets only
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst import Settings, images, preset, run  # noqa: E402
from nst import budget, speed  # noqa: E402
from nst.objective import Objective  # noqa: E402
from nst.speed import resolve_device  # noqa: E402
from nst.yardstick import paper_losses  # noqa: E402
from nst.intake import open_image  # noqa: E402
from nst.settings import STYLE_LAYERS  # noqa: E402
from nst.vgg import POOL_AFTER, load_vgg  # noqa: E402
from nst.weights import load_weights  # noqa: E402

CONTENT = ROOT / "examples" / "photos" / "chelsea.jpg"
STYLE = ROOT / "examples" / "styles" / "swirling_night.jpg"


def machine(device: torch.device) -> dict:
    """The machine (nst.speed.describe: CPU model and family, vector unit, bf16/AMX flags, GPU)
    and what its calibration measured: bf16 is used only where it was measured faster."""
    sp = speed.measured(device)
    return {**speed.describe(device), "python": platform.python_version(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "bf16": budget.bf16_faster(sp), "calibration": sp.measured,
            "matmul_peak_gflops": {k: round(v / 1e9, 1) for k, v in sp.peak_flops.items()}}


def host_kind(info: dict) -> str:
    name = info.get("gpu") or info["cpu"]
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if "gpu" in info:
        return f"cuda-{slug}-{info['cores']}c"
    # CPUs that share a name (three 'AMD EPYC's) differ in family and vector unit
    family = f"-fam{info['cpu_family'].replace('/', 'm')}" if info.get("cpu_family") else ""
    simd = f"-{info['simd'].lower()}" if info.get("simd") else ""
    return f"cpu-{slug}{family}{simd}-{info['cores']}c"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mb(device: torch.device) -> dict:
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = {"peak_rss_mb": round(rss_kib / 1024)}
    if device.type == "cuda":
        out["cuda_max_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20)
    return out


def _timed(device, body):
    """A step timer: runs body() between device syncs and returns the seconds it took."""
    def step() -> float:
        sync(device)
        t = time.perf_counter()
        body()
        sync(device)
        return time.perf_counter() - t

    return step


def step_timer(device, size: int, fast: bool, content, style):
    """One Adam step of the full objective (forward to conv5_1, backward to the pixels)."""
    net = load_vgg("vgg19", str(device), fast)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if fast \
        else contextlib.nullcontext
    fmt = torch.channels_last if fast else torch.contiguous_format
    c = images.resize(content, size).to(device)
    st = [images.resize(style, size).to(device)]
    objective = Objective(net, Settings(size=size), c, st, [1.0], tuple(c.shape[-2:]), autocast, fmt)
    x = c.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=4.0)

    def body():
        opt.zero_grad(set_to_none=True)
        objective(x)[0].backward()
        opt.step()

    return _timed(device, body)


def textbook_step_timer(device, size: int, content, style):
    """The same step as a first implementation writes it, for reference: an nn.Sequential VGG-19
    (average pools) on the same weights, fp32 NCHW, out-of-place ReLU, Gram = F F^T with
    autograd's generic backward, the paper's losses with alpha/beta = 1e-3."""
    w = load_weights("vgg19")
    layers, taps = [], {}
    for name, (W, b) in w.convs.items():
        conv = nn.Conv2d(W.shape[1], W.shape[0], 3, padding=1)
        conv.weight.data.copy_(W)
        conv.bias.data.copy_(b)
        layers += [conv, nn.ReLU()]
        taps[len(layers) - 1] = name
        if name == "conv5_1":
            break
        if name in POOL_AFTER:
            layers.append(nn.AvgPool2d(2))
    net = nn.Sequential(*layers).requires_grad_(False).to(device)

    def features(x):
        out, h = {}, w.preprocess(x)
        for i, layer in enumerate(net):
            h = layer(h)
            if i in taps:
                out[taps[i]] = h
        return out

    def g(F):
        f = F.view(F.shape[1], -1)
        return f @ f.t()

    c = images.resize(content, size).to(device)
    st = images.resize_to(style, tuple(c.shape[-2:])).to(device)
    with torch.no_grad():
        P = features(c)["conv4_2"]
        A = {l: g(F) for l, F in features(st).items() if l in STYLE_LAYERS}
    x = c.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=4.0)

    def body():
        opt.zero_grad()
        f = features(x)
        content_loss = 0.5 * ((f["conv4_2"] - P) ** 2).sum()
        style_loss = sum(0.2 * ((g(f[l]) - A[l]) ** 2).sum() /
                         (4 * f[l].shape[1] ** 2 * (f[l].shape[2] * f[l].shape[3]) ** 2)
                         for l in STYLE_LAYERS)
        (content_loss + 1e3 * style_loss).backward()
        opt.step()

    return _timed(device, body)


def bench_steps(device, sizes, reps, content, style) -> list[dict]:
    rows = []
    for size in sizes:
        timers = {"textbook": textbook_step_timer(device, size, content, style),
                  **{name: step_timer(device, size, name == "fast", content, style)
                     for name in ("naive", "fast")}}
        for t in timers.values():  # warm-up: kernel selection, allocator
            t(), t()
        times = {name: [] for name in timers}
        for _ in range(reps):  # interleaved, so a busy neighbour slows both alike
            for name, t in timers.items():
                times[name].append(t())
        med = {name: statistics.median(v) for name, v in times.items()}
        rows.append({"size": size, "textbook_fp32_s_per_step": round(med["textbook"], 4),
                     "naive_fp32_nchw_s_per_step": round(med["naive"], 4),
                     "fast_bf16_channels_last_s_per_step": round(med["fast"], 4),
                     "speedup_vs_textbook": round(med["textbook"] / med["fast"], 2),
                     "speedup": round(med["naive"] / med["fast"], 2), "reps": reps,
                     **peak_memory_mb(device)})
        print(f"  steps at {size}px: textbook {med['textbook']:.3f} s, engine fp32 "
              f"{med['naive']:.3f} s, fast {med['fast']:.3f} s", flush=True)
    return rows


def bench_presets(device, names, content_img, style_img) -> list[dict]:
    rows = []
    for name in names:
        s = preset(name, device=str(device))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        t = time.perf_counter()
        frame = run(content_img, style_img, s)
        wall = time.perf_counter() - t
        photo = paper_losses(content_img.resize(frame.image.size), content_img, style_img)["style"]
        ours = paper_losses(frame.image, content_img, style_img)["style"]
        i = frame.info
        rows.append({"preset": name, "budget_s": s.seconds, "size": i.size, "steps": frame.step,
                     "wall_s": round(wall, 1), "plan": i.taken,
                     "gflops_per_step": round(i.flops_per_step / 1e9, 1),
                     "gflops_per_s": round((i.flops_per_s or 0) / 1e9, 1), "mfu": i.mfu,
                     "optimizer": frame.info.optimizer, "precision": frame.info.precision,
                     "levels": frame.info.levels, "style_loss_vs_photo": round(ours / photo, 3),
                     **peak_memory_mb(device)})
        print(f"  preset {name}: {wall:.1f} s", flush=True)
    return rows


def table(result: dict) -> str:
    m = result["machine"]
    gpu = f", GPU {m['gpu']}" if "gpu" in m else ""
    lines = [f"Machine: {m['cpu']} ({m['cores']} cores{gpu}), torch {m['torch']}, device "
             f"{m['device']}, load average at start {m['load_average_at_start'][0]}; "
             f"`{result['command']}`", "",
             "| size | textbook fp32 s/step | engine fp32 NCHW s/step | default: bf16 + channels_last "
             "s/step | speedup vs textbook | vs engine fp32 | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for r in result["steps"]:
        lines.append(f"| {r['size']} | {r['textbook_fp32_s_per_step']:.3f} | "
                     f"{r['naive_fp32_nchw_s_per_step']:.3f} | "
                     f"{r['fast_bf16_channels_last_s_per_step']:.3f} | "
                     f"{r['speedup_vs_textbook']:.2f}x | {r['speedup']:.2f}x | {r['peak_rss_mb']} |")
    if result["presets"]:
        # No per-step ratio against full-size steps here: pyramid steps are of other sizes, and
        # what a visitor waits for is time to quality (bench/quality.py).
        lines += ["", "| preset (budget) | size | steps | plan | optimizer | wall s | GFLOP/step | "
                  "GFLOP/s at full size | of matmul peak | style loss vs photo |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["presets"]:
        mfu = f"{r['mfu']:.0%}" if r.get("mfu") else "–"
        lines.append(f"| {r['preset']} ({r['budget_s']:g} s) | {r['size']} | {r['steps']} | {r['plan']} | "
                     f"{r['optimizer']} {r['precision']} | {r['wall_s']} | {r['gflops_per_step']} | "
                     f"{r['gflops_per_s']} | {mfu} | {r['style_loss_vs_photo']}x |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 timed steps, quick+balanced presets")
    p.add_argument("--no-presets", action="store_true", help="only the per-step timings")
    p.add_argument("--device", default="auto")
    p.add_argument("--reps", type=int, help="timed steps per case (median taken)")
    p.add_argument("--out", help="JSON path (default bench/results/<host-kind>.json)")
    a = p.parse_args(argv)
    device = resolve_device(a.device)
    reps = a.reps or (3 if a.quick else 7)
    content_img, style_img = open_image(CONTENT), open_image(STYLE)
    content, style = images.to_tensor(content_img), images.to_tensor(style_img)
    info = machine(device)
    print(f"bench on {info['cpu']} / {device}", flush=True)
    command = " ".join(["python bench/bench.py", *(sys.argv[1:] if argv is None else argv)])
    result = {"machine": info, "command": command,
              "images": [str(CONTENT.relative_to(ROOT)), str(STYLE.relative_to(ROOT))],
              "steps": bench_steps(device, (256, 512), reps, content, style),
              "presets": [] if a.no_presets else bench_presets(
                  device, ("quick", "balanced") if a.quick else ("quick", "balanced", "best"),
                  content_img, style_img)}
    result["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(table(result))
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"{host_kind(info)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

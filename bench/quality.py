"""The picture at the deadline (a benchmark, not a test): for each time budget, the paper's objective
of what the product paints in that time, next to the textbook L-BFGS recipe's at the same wall time,
on the same photo x painting pairs, in one run.

The judge: L = alpha L_content + 1e3 L_style (alpha/beta = 1e-3 at 512 x 512 px, alpha scaled by
the area as the engine does), evaluated in fp32 by `nst.yardstick.paper_losses` (original VGG-19,
average pooling, the paper's layers) on the picture enlarged to a 512 px long side: what a
visitor gets, judged on one scale whatever size the budget bought.

The textbook recipe, as a first implementation writes it: L-BFGS in fp32, one scale at 512 px,
from the photo, no line search, history 100; its clock starts at its first evaluation (targets and
weights not counted). The product runs as a visitor runs it, in a fresh process:
`python -m nst PHOTO PAINTING -o OUT --seconds B` (or --preset); its time is that process's wall
time, start-up, imports and the closing losses included.

    python bench/quality.py                         # 3 pairs x the 15 / 45 / 120 s budgets
    python bench/quality.py --budgets 15,45 --pairs 2
    python bench/quality.py --sweep 45 --sizes 256,384,512   # sizes at one budget: which ends lowest
    python bench/quality.py --methods 45 --pairs 2           # methods at one budget: which ends lowest
    python bench/quality.py --own-size              # also each picture at its own size vs the textbook there

Beside the objective, every row gives the picture's grain (nst.yardstick.grain_ratio: the mean
absolute difference between neighbouring pixels, over the painting's own at the same pixel
count), which the paper's objective does not see and an eye does.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench import host_kind, machine  # noqa: E402  (bench/bench.py)
from nst import Settings, images  # noqa: E402
from nst import speed as nst_speed  # noqa: E402
from nst.budget import side_pixels  # noqa: E402
from nst.objective import Objective, alpha_scale, at_least, min_side  # noqa: E402
from nst.yardstick import grain_ratio, paper_losses  # noqa: E402
from nst.intake import open_image  # noqa: E402
from nst.settings import PRESETS  # noqa: E402
from nst.vgg import load_vgg  # noqa: E402

PHOTOS = ROOT / "examples" / "photos"
PAINTINGS = ROOT / "examples" / "styles"
BETA = 1e3  # the judge's L = alpha L_content + BETA * L_style
JUDGE_SIDE = 512
# The pairs the earlier presets were tuned on; every other photo x painting combination is held out.
BENCH_PAIRS = [("chelsea", "starry_night"), ("astronaut", "the_scream"),
               ("coffee", "shipwreck"), ("rocket", "woman-with-hat-matisse")]
ALL_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
ALL_PAINTINGS = ("starry_night", "the_scream", "shipwreck", "woman-with-hat-matisse")
HELD_OUT = [(p, s) for p in ALL_PHOTOS for s in ALL_PAINTINGS if (p, s) not in BENCH_PAIRS]
# What `auto` could run instead, each held to the same budget (the CLI's flags).
PIXELS = ["--basis", "pixels"]
METHODS = {"auto": [], "auto, no grain cap": ["--grain", "0"],
           "start in the painting's colours": ["--init", "palette"],
           "adam pyramid": ["--optimizer", "adam", *PIXELS],
           "adam pyramid, moments carried": ["--optimizer", "adam", "--carry-moments", *PIXELS],
           "l-bfgs one scale": ["--no-pyramid", "--optimizer", "lbfgs", "--precision", "fp32", *PIXELS],
           "bf16 adam pyramid": ["--optimizer", "adam", "--precision", "bf16", *PIXELS],
           "bf16 adam coarse, bf16 l-bfgs at full size": ["--optimizer", "adam+lbfgs", "--precision", "bf16", *PIXELS],
           "auto, start from the photo's detail": ["--detail"],
           "auto, start from the blurred enlargement": ["--no-detail"],
           "auto, l-bfgs's scalar h_0": ["--lbfgs-scaling", "scalar"],
           "auto, l-bfgs's diagonal h_0 from the first step": ["--lbfgs-scaling", "diagonal"],
           "laplacian pyramid basis": ["--basis", "pyramid"],
           "laplacian pyramid basis, one scale": ["--basis", "pyramid", "--no-pyramid"],
           "laplacian pyramid basis, bf16 adam coarse, bf16 l-bfgs at full size": [
               "--basis", "pyramid", "--optimizer", "adam+lbfgs", "--precision", "bf16"],
           "laplacian pyramid basis, l-bfgs one scale": ["--basis", "pyramid", "--no-pyramid", "--optimizer",
                                                         "lbfgs", "--precision", "fp32"]}


def load_pair(photo: str, painting: str):
    return open_image(PHOTOS / f"{photo}.jpg"), open_image(PAINTINGS / f"{painting}.jpg")


def paper_objective(content_loss, style_loss, hw) -> float:
    """L = alpha L_content + BETA L_style, alpha scaled by the area as the engine scales it."""
    return alpha_scale(hw) * content_loss + BETA * style_loss


def judge(image, content, style) -> float:
    """The paper's objective of a finished picture enlarged to JUDGE_SIDE, in fp32."""
    big = image.resize(images.fit_size(*image.size, JUDGE_SIDE), resample=3)  # bicubic
    parts = paper_losses(big, content, style, Settings(size=JUDGE_SIDE))
    return paper_objective(parts["content"], parts["style"], big.size[::-1])


def textbook(content, style, size: int, evals: int = 100):
    """L-BFGS fp32 at one scale from the photo, no line search, history 100: [(seconds since the
    first evaluation began, L)] per evaluation, and the picture a visitor would get at the end
    (L-BFGS is unconstrained: its pixels leave 0..255 and must be clipped and rounded to show). The objective is the judge's (same targets as
    paper_losses), run in fp32 NCHW, as fast per step as a textbook nn.Sequential VGG-19
    (bench/bench.py measures both)."""
    s = Settings(size=size, precision="fp32")
    device = nst_speed.resolve_device("auto")
    net = load_vgg(s.weights, str(device), False)
    c = images.resize(images.to_tensor(content), size).to(device)
    hw = tuple(c.shape[-2:])
    st = at_least(images.to_tensor(style), size, min_side(s.style_layers)).to(device)
    objective = Objective(net, s, c, [st], [1.0], hw, contextlib.nullcontext,
                          torch.contiguous_format)
    x = c.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=evals, max_eval=evals, history_size=100,
                            tolerance_grad=0, tolerance_change=0)
    trace, t0 = [], []

    def closure():
        if not t0:
            t0.append(time.perf_counter())
        opt.zero_grad()
        _, Lc, Ls = objective(x)
        L = paper_objective(Lc, Ls, hw)
        L.backward()
        trace.append((time.perf_counter() - t0[0], L.item()))  # .item() waits for a GPU
        return L

    opt.step(closure)
    return trace, images.to_pil(x.detach().cpu())


def time_to_reach(trace, target: float) -> float | None:
    """Seconds the textbook needed to first reach an objective <= target (None: never did)."""
    return next((t for t, L in trace if L <= target), None)


def run_cli(photo: Path, painting: Path, out: Path, flags) -> dict:
    """The CLI in a fresh process, as a visitor runs it: its wall time (start-up counted), the
    size and steps it took (from its closing line)."""
    cmd = [sys.executable, "-m", "nst", str(photo), str(painting), "-o", str(out), "-q", *flags]
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    m = re.search(r"\((\d+)x(\d+), (\d+) steps", r.stderr)
    levels = re.search(r"--levels (\S+)", r.stderr)
    return {"wall_s": round(wall, 2), "size": max(int(m[1]), int(m[2])), "steps": int(m[3]),
            "levels": levels[1] if levels else None,
            "arithmetic": re.search(r"on \S+ (\S+ \S+)\)", r.stderr)[1]}


def textbook_at(trace, seconds: float) -> float:
    """The textbook's objective after `seconds` of evaluations (its last one begun by then)."""
    done = [L for t, L in trace if t <= seconds]
    return min(done) if done else trace[0][1]


def judge_own_size(image, content, style, traces: dict, seconds: float, evals: int) -> dict:
    """The paper's objective at the picture's own size, against the textbook run at that size
    (one trace per size, kept in `traces`): neither punished nor flattered by a resampling."""
    side = max(image.size)
    if side not in traces:
        sp = nst_speed.measured(nst_speed.resolve_device("auto"))
        n = min(evals, int(2.2 * seconds / sp.step("fp32", "polish", side_pixels(content.size, side))) + 1)
        traces[side] = textbook(content, style, side, max(2, n))[0]
    parts = paper_losses(image, content, style, Settings(size=side))
    L = paper_objective(parts["content"], parts["style"], image.size[::-1])
    reach = time_to_reach(traces[side], L)
    return {"L_own": L, "textbook_own_s_to_reach": reach, "textbook_own_ran_s": traces[side][-1][0]}


def bench_pair(photo: str, painting: str, runs: list[tuple[str, list]], evals: int, tmp: Path,
               own_size: bool = False) -> dict:
    """One pair: the textbook at 512 px, then each run through the CLI, each judged alike (and,
    with `own_size`, at its own size against the textbook at that size)."""
    content, style = load_pair(photo, painting)
    trace, _ = textbook(content, style, JUDGE_SIDE, evals)
    traces = {JUDGE_SIDE: trace}
    print(f"  {photo} x {painting}: textbook {evals} evals in {trace[-1][0]:.1f} s, L {trace[-1][1]:.4g}",
          flush=True)
    out = {"pair": [photo, painting], "textbook": [[round(t, 3), L] for t, L in trace], "runs": [],
           "failed": []}
    for label, flags in runs:
        png = tmp / f"{photo}-{painting}-{label}.png"
        try:
            row = {"run": label, "flags": flags,
                   **run_cli(PHOTOS / f"{photo}.jpg", PAINTINGS / f"{painting}.jpg", png, flags)}
        except subprocess.CalledProcessError as e:  # one method failing must not lose the others
            said = (e.stderr or "").strip().splitlines()[-1:] or [f"exit code {e.returncode}"]
            out["failed"].append({"run": label, "flags": flags, "error": said[0]})
            print(f"  {label}: failed: {said[0]}", flush=True)
            continue
        picture = open_image(png)
        L = judge(picture, content, style)
        budget = float(flags[flags.index("--seconds") + 1]) if "--seconds" in flags else row["wall_s"]
        reach = time_to_reach(trace, L)
        row.update(budget_s=budget, L=L, textbook_L_same_time=textbook_at(trace, row["wall_s"]),
                   textbook_s_to_reach=reach,
                   textbook_ratio=None if reach is None else reach / budget,
                   textbook_ran_s=trace[-1][0], grain=grain_ratio(picture, style))
        if own_size:
            row.update(judge_own_size(picture, content, style, traces, budget, evals))
        out["runs"].append(row)
        ratio = f"{reach / budget:.2f}x the budget" if reach else f"> {trace[-1][0] / budget:.2f}x (never)"
        print(f"  {label}: {row['wall_s']:.1f} s, {row['size']} px, {row['steps']} steps, L {L:.4g}, "
              f"grain {row['grain']:.2f}x the painting's; textbook at that time "
              f"{row['textbook_L_same_time']:.4g}, needs {ratio}", flush=True)
    return out


def table(result: dict) -> str:
    m = result["machine"]
    flags = ", ".join(k for k, v in m.get("cpu_bf16_flags", {}).items() if v) or "none"
    lines = [f"Machine: {m['cpu']} ({m['cores']} cores, {m.get('simd', '?')}; bf16/AMX flags: {flags}), "
             f"torch {m['torch']}, load average {m['load_average_at_start'][0]} at start, "
             f"{m.get('load_average_at_end', ['?'])[0]} at end; `{result['command']}`", "",
             "| pair | budget | wall s | size | steps | arithmetic | L at 512 px | no worse than the shorter "
             "| grain ÷ painting's | textbook L at the same time | textbook s to reach L | ÷ budget | 2x met "
             "| L at own size | textbook at own size ÷ budget |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in result["pairs"]:
        shorter = None
        for r in p["runs"]:
            reach, ratio = r["textbook_s_to_reach"], r["textbook_ratio"]
            reach_s = f"{reach:.1f}" if reach is not None else f"> {r['textbook_ran_s']:.0f}"
            ratio_s = f"{ratio:.2f}" if ratio is not None else f"> {r['textbook_ran_s'] / r['budget_s']:.2f}"
            met = ratio is None or ratio >= 2
            mono = "–" if shorter is None or result.get("methods") else "yes" if r["L"] <= shorter else "no"
            shorter = r["L"]
            own, own_ratio = "–", "–"
            if "L_own" in r:
                own = f"{r['L_own']:.3e}"
                t = r["textbook_own_s_to_reach"]
                own_ratio = f"{t / r['budget_s']:.2f}" if t is not None else \
                    f"> {r['textbook_own_ran_s'] / r['budget_s']:.2f}"
            lines.append(f"| {' x '.join(p['pair'])} | {r['run']} | {r['wall_s']:.1f} | {r['size']} | "
                         f"{r['steps']} | {r['arithmetic']} | {r['L']:.3e} | {mono} | {r.get('grain', float('nan')):.2f} | "
                         f"{r['textbook_L_same_time']:.3e} | {reach_s} | {ratio_s} | {'yes' if met else 'no'} | "
                         f"{own} | {own_ratio} |")
        lines += [f"| {' x '.join(p['pair'])} | {r['run']} | failed: {r['error']} |" + " |" * 12
                  for r in p.get("failed", [])]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    """Objective against seconds, one panel per pair: the textbook's evaluations as a line, each
    run's picture at the deadline as a dot (PIL only, no plotting library)."""
    from PIL import Image, ImageDraw
    import math

    pairs = result["pairs"]
    cols = min(2, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    W, H, pad = 520, 340, 56
    palette = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)]
    labels = list(dict.fromkeys(r["run"] for p in pairs for r in p["runs"]))
    colours = {"textbook": (60, 60, 60), **{n: palette[i % len(palette)] for i, n in enumerate(labels)}}
    names = {n: "textbook L-BFGS, 512 px" if n == "textbook" else n for n in colours}
    legend, x, row = {}, 10, 0  # the legend wraps onto as many rows as its labels need
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    for n, label in names.items():
        width = 16 + int(measure.textlength(label)) + 24
        if x + width > cols * W and x > 10:
            x, row = 10, row + 1
        legend[n], x = (x, row), x + width
    img = Image.new("RGB", (cols * W, rows * H + 20 * (row + 1) + 10), "white")
    d = ImageDraw.Draw(img)
    for k, p in enumerate(pairs):
        ox, oy = (k % cols) * W, (k // cols) * H
        trace, pts = p["textbook"], [(r["wall_s"], r["L"], r["run"]) for r in p["runs"]]
        xs = [t for t, _ in trace] + [t for t, _, _ in pts]
        ys = [trace[0][1], min(L for _, L in trace)] + [L for _, L, _ in pts]
        xmax, (ylo, yhi) = max(xs) * 1.05, (math.log10(min(ys)) - 0.05, math.log10(max(ys)) + 0.05)
        X = lambda t: ox + pad + (W - pad - 16) * t / xmax  # noqa: E731
        Y = lambda L: oy + H - pad - (H - pad - 28) * (math.log10(L) - ylo) / (yhi - ylo)  # noqa: E731
        d.rectangle([X(0), Y(10 ** yhi), X(xmax), Y(10 ** ylo)], outline=(180, 180, 180))
        d.line([(X(t), Y(min(L, 10 ** yhi))) for t, L in trace], fill=colours["textbook"], width=2)
        for t, L, name in pts:
            d.ellipse([X(t) - 5, Y(L) - 5, X(t) + 5, Y(L) + 5], fill=colours[name])
        for frac in (0, 0.25, 0.5, 0.75, 1):
            t = frac * xmax
            d.text((X(t) - 8, Y(10 ** ylo) + 4), f"{t:.0f} s", fill="black")
            v = 10 ** (ylo + frac * (yhi - ylo))
            d.text((ox + 4, Y(v) - 6), f"{v:.2e}", fill="black")
        d.text((ox + pad, oy + 8), f"{' x '.join(p['pair'])}: L at {JUDGE_SIDE} px vs seconds", fill="black")
    for name, c in colours.items():
        x, y = legend[name][0], rows * H + 10 + 20 * legend[name][1]
        d.rectangle([x, y, x + 12, y + 12], fill=c)
        d.text((x + 16, y), names[name], fill="black")
    img.save(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=3, help="the first N pairs (default 3)")
    p.add_argument("--held-out", action="store_true", help="the pairs no setting was tuned on")
    p.add_argument("--pair", action="append", metavar="PHOTO:PAINTING",
                   help="a pair by file stem, e.g. astronaut:starry_night (repeatable)")
    p.add_argument("--budgets", default=",".join(f"{v:g}" for v in PRESETS.values()),
                   help="seconds, comma-separated (default: the presets')")
    p.add_argument("--sweep", type=float, metavar="SECONDS", help="instead: one budget at each of --sizes")
    p.add_argument("--sizes", default="256,384,512", help="with --sweep: long sides to compare")
    p.add_argument("--methods", type=float, metavar="SECONDS", help="instead: each of METHODS at one budget")
    p.add_argument("--size", type=int, help="with --methods: every method at this long side")
    p.add_argument("--method", action="append", choices=list(METHODS), help="with --methods: only these "
                   "(repeatable; default all)")
    p.add_argument("--own-size", action="store_true", help="also judge each picture at its own size "
                   "against the textbook at that size (a textbook run per size: longer)")
    p.add_argument("--evals", type=int, help="the textbook's evaluations (default: enough for 2x the "
                   "largest budget on this machine)")
    p.add_argument("--out", help="JSON path (default bench/results/quality-<host-kind>.json)")
    p.add_argument("--plot", help="PNG path (default docs/quality-<host-kind>.png)")
    a = p.parse_args(argv)
    pairs = [tuple(x.split(":", 1)) for x in a.pair] if a.pair else \
        HELD_OUT if a.held_out else BENCH_PAIRS
    pairs = pairs[:a.pairs] if a.pairs else pairs
    if a.methods:
        at = ["--size", str(a.size)] if a.size else []
        runs = [(f"{a.methods:g} s {name}", ["--seconds", f"{a.methods:g}", *at, *flags])
                for name, flags in METHODS.items() if not a.method or name in a.method]
        longest = a.methods
    elif a.sweep:
        runs = [(f"{a.sweep:g} s @ {sz} px", ["--seconds", f"{a.sweep:g}", "--size", sz])
                for sz in a.sizes.split(",")]
        longest = a.sweep
    else:
        budgets = [float(b) for b in a.budgets.split(",")]
        runs = [(f"{b:g} s", ["--seconds", f"{b:g}"]) for b in budgets]
        longest = max(budgets)
    device = nst_speed.resolve_device("auto")
    info = machine(device)
    sp = nst_speed.measured(device)
    evals = a.evals or int(2.2 * longest / sp.step("fp32", "polish", JUDGE_SIDE * JUDGE_SIDE * 2 / 3)) + 1
    command = " ".join(["python bench/quality.py", *(sys.argv[1:] if argv is None else argv)])
    result = {"machine": info, "command": command, "evals": evals, "methods": bool(a.methods or a.sweep),
              "judge": f"L = alpha(area) L_content + {BETA:g} L_style at {JUDGE_SIDE} px, fp32, vgg19",
              "pairs": []}
    print(f"quality bench on {info['cpu']}, {len(pairs)} pairs, textbook {evals} evals", flush=True)
    kind = host_kind(info) + ("-methods" if a.methods else "-sweep" if a.sweep else "")
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"quality-{kind}.json"
    png = Path(a.plot) if a.plot else ROOT / "docs" / f"quality-{kind}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for photo, painting in pairs:  # results written after each pair: a long run can be cut
            result["pairs"].append(bench_pair(photo, painting, runs, evals, Path(tmp), a.own_size))
            result["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
            out.write_text(json.dumps(result, indent=1) + "\n")
            plot(result, png)
    print(table(result))
    print(f"wrote {out} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Print sizes (a benchmark, not a test): for long sides from 512 px up, the peak memory and the
seconds per step of the objective evaluated by blocks and, where it fits, of the whole picture at
once; and where the whole picture stops fitting this machine. Each measurement runs in a fresh
process (`stylize` with one level of fixed steps), so its peak resident memory is its own.

    python bench/print.py                                # 512 ... 6000 px, bf16 where it is fast
    python bench/print.py --sizes 512,1024,2048 --steps 2 --max-memory 4G
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench import host_kind, machine  # noqa: E402  (bench/bench.py)
from nst import budget, speed  # noqa: E402
from nst.budget import parse_bytes, side_pixels  # noqa: E402

PHOTO, PAINTING = ROOT / "examples" / "photos" / "chelsea.jpg", ROOT / "examples" / "styles" / "starry_night.jpg"
CHILD = """
import json, re, sys, time
from pathlib import Path
from PIL import Image
from nst import Settings, stylize
size, steps, memory = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
photo, painting = Image.open(sys.argv[4]).convert("RGB"), Image.open(sys.argv[5]).convert("RGB")
s = Settings(levels=((size, steps + 2),), optimizer="adam", max_memory=memory, frame_every=1)
times, block, t0 = [], None, time.perf_counter()
for f in stylize(photo, painting, s):
    if not f.done:  # a step's frame (the final frame's own work is not a step's)
        times.append(f.elapsed)
    block = f.info.block
if f.info.device.startswith("cuda"):
    import torch
    peak = torch.cuda.max_memory_allocated()
else:
    peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1]) * 1024
per_step = (times[-1] - times[0]) / max(1, len(times) - 1)  # from the end of the first step
print(json.dumps({"block": block, "s_per_step": per_step, "set_up_s": times[0] - per_step, "peak_bytes": peak,
                  "wall_s": time.perf_counter() - t0}))
"""


def measure(size: int, steps: int, memory: float) -> dict:
    """One size in a fresh process, with `memory` bytes for the planner (a huge one: at once)."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), str(size), str(steps), str(memory),
                        str(PHOTO), str(PAINTING)], cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        return {"failed": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="512,1024,2048,3072,4096,6000")
    p.add_argument("--steps", type=int, default=1, help="timed steps per run (after one that sets up, before the final one)")
    p.add_argument("--max-memory", default="8G", help="what the blocked runs may take (default 8G)")
    p.add_argument("--out", help="JSON path (default bench/results/print-<host-kind>.json)")
    a = p.parse_args(argv)
    device = speed.resolve_device("auto")
    info, sp = machine(device), speed.measured(device)
    memory, free = parse_bytes(a.max_memory), speed.free_memory(device)
    _, precision, _ = budget.resolve(budget.Settings(optimizer="adam"), sp)
    print(f"print bench on {info['cpu']}: {precision}, blocks within {memory / 2**30:.1f} GB, "
          f"{(free or 0) / 2**30:.1f} GB free", flush=True)
    rows = []
    for size in map(int, a.sizes.split(",")):
        px = side_pixels(PHOTO_WH, size)
        whole_need = sp.bytes(precision, px)
        # blocks at every size: room for blocks of about half the side (not the whole) forces them
        half = budget.MARGIN_OF_ERROR * budget.level_bytes(sp, precision, "adam", PHOTO_WH, size,
                                                            max(256, size // 2 // 64 * 64), 100)
        row = {"size": size, "pixels": px, "whole_predicted_bytes": whole_need,
               "blocked": measure(size, a.steps, min(memory, half))}
        if free is None or whole_need < budget.HEADROOM * free / budget.MARGIN_OF_ERROR:
            row["whole"] = measure(size, a.steps, 1e15)
        rows.append(row)
        print(_line(row), flush=True)
    first_too_large = next((r["size"] for r in rows if "whole" not in r), None)
    print(f"\nMachine: {info['cpu']} ({info['cores']} cores, {info['simd']}; bf16/AMX flags: "
          f"{', '.join(k for k, v in info['cpu_bf16_flags'].items() if v) or 'none'}), torch {info['torch']}; "
          f"`python bench/print.py {' '.join(sys.argv[1:])}`\n")
    print(table(rows))
    if first_too_large:
        print(f"\nThe whole picture at once would not fit from {first_too_large} px on "
              f"(its predicted peak past the {(free or 0) / 2**30:.1f} GB free).")
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"print-{host_kind(info)}.json"
    out.write_text(json.dumps({"machine": {**info, "free_bytes": free}, "precision": precision,
                               "max_memory": memory, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def _gb(b) -> str:
    return f"{b / 2**30:.1f}"


def _line(r) -> str:
    b, w = r["blocked"], r.get("whole")
    said = f"  {r['size']} px: blocks {b.get('block')}: " + (
        f"{b['s_per_step']:.1f} s/step, peak {_gb(b['peak_bytes'])} GB" if "failed" not in b else b["failed"])
    if w and "failed" not in w:
        said += f"; at once {w['s_per_step']:.1f} s/step, peak {_gb(w['peak_bytes'])} GB"
    return said


def table(rows) -> str:
    lines = ["| long side | pixels | blocks of | s/step by blocks | peak GB by blocks | s/step at once | "
             "peak GB at once (predicted) | by blocks ÷ at once |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b, w = r["blocked"], r.get("whole") or {}
        ratio = f"{b['s_per_step'] / w['s_per_step']:.2f}" if w.get("s_per_step") and b.get("s_per_step") else "–"
        at_once = (f"{w['s_per_step']:.1f}" if w.get("s_per_step") else "does not fit")
        lines.append(f"| {r['size']} | {r['pixels'] / 1e6:.1f} M | {b.get('block') or 'whole'} | "
                     f"{b.get('s_per_step', float('nan')):.1f} | {_gb(b.get('peak_bytes', 0))} | {at_once} | "
                     f"{_gb(w['peak_bytes']) if w.get('peak_bytes') else '–'} ({_gb(r['whole_predicted_bytes'])}) | "
                     f"{ratio} |")
    return "\n".join(lines)


PHOTO_WH = (451, 300)  # chelsea.jpg

if __name__ == "__main__":
    raise SystemExit(main())

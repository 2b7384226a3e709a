"""Does a budget keep its word? (a benchmark, not a test): the CLI in a fresh process with each
budget, on a 3:2 photo and a portrait one, wall time from process start to the file written,
against the budget's [0.8, 1.1] window; the size and steps this machine took.

    python bench/budgets.py                  # quick, --seconds 30, balanced; 3:2 and portrait
    python bench/budgets.py --runs 3         # the median of 3 runs per cell
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench import host_kind, machine  # noqa: E402  (bench/bench.py)
from nst.speed import resolve_device  # noqa: E402

BUDGETS = [("--preset quick", 15.0), ("--seconds 30", 30.0), ("--preset balanced", 45.0)]


def one_run(photo: Path, painting: Path, flags: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "nst", str(photo), str(painting), "-o", str(out), "-q", *flags.split()]
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    # the file is written before the interpreter's own exit (a fraction of a second of teardown),
    # so the wall time to the file written is its modification time against the start
    written = out.stat().st_mtime - (time.time() - (time.perf_counter() - t))
    m = re.search(r"\((\d+)x(\d+), (\d+) steps", r.stderr)
    return {"to_file_s": round(written, 2), "process_s": round(time.perf_counter() - t, 2),
            "size": f"{m[1]}x{m[2]}", "steps": int(m[3]),
            "repeat": re.search(r"repeat it with: (.*)", r.stderr)[1]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1, help="runs per cell (median)")
    p.add_argument("--out", help="JSON path (default bench/results/budgets-<host-kind>.json)")
    a = p.parse_args(argv)
    info = machine(resolve_device("auto"))
    painting = ROOT / "examples" / "styles" / "starry_night.jpg"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        landscape = ROOT / "examples" / "photos" / "chelsea.jpg"
        portrait = Path(tmp) / "chelsea-portrait.jpg"
        Image.open(landscape).transpose(Image.Transpose.ROTATE_90).save(portrait, quality=95)
        for photo, shape in ((landscape, "3:2 (451x300)"), (portrait, "portrait (300x451)")):
            for flags, budget in BUDGETS:
                runs = [one_run(photo, painting, flags, Path(tmp) / "out.png") for _ in range(a.runs)]
                wall = statistics.median(r["to_file_s"] for r in runs)
                row = {"photo": shape, "flags": flags, "budget_s": budget, "wall_s": wall,
                       "ratio": round(wall / budget, 3), "in_window": 0.8 <= wall / budget <= 1.1,
                       "runs": runs}
                rows.append(row)
                print(f"{shape} {flags}: {wall:.1f} s ({wall / budget:.2f}x), {runs[-1]['size']} px, "
                      f"{runs[-1]['steps']} steps", flush=True)
    flags = ", ".join(k for k, v in info.get("cpu_bf16_flags", {}).items() if v) or "none"
    print(f"\nMachine: {info['cpu']} ({info['cores']} cores, {info['simd']}; bf16/AMX flags: {flags}; "
          f"bf16 measured faster: {info['bf16']}), torch {info['torch']}; "
          f"`python bench/budgets.py{' ' + ' '.join(sys.argv[1:]) if argv is None and sys.argv[1:] else ''}`\n")
    print("| photo | budget | wall s to the file (median) | ÷ budget | in [0.8, 1.1] | size | steps |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        last = r["runs"][-1]
        print(f"| {r['photo']} | `{r['flags']}` ({r['budget_s']:g} s) | {r['wall_s']:.1f} | {r['ratio']:.2f} | "
              f"{'yes' if r['in_window'] else 'no'} | {last['size']} | {last['steps']} |")
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"budgets-{host_kind(info)}.json"
    out.write_text(json.dumps({"machine": {**info, "load_average_at_end": os.getloadavg()}, "rows": rows},
                              indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a visitor waits for, per budget: time to the first streamed frame and to the final picture,
through the real HTTP API (gradio_client), against a running app; the size and steps it took.

    python app.py &                                   # then, once it is up:
    python bench/app_latency.py http://127.0.0.1:7860/ 3                  # quick, 3 runs
    python bench/app_latency.py http://127.0.0.1:7860/ 2 quick,balanced,best
"""
import re
import statistics
import sys
import time
from pathlib import Path

from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = {"quick": 15, "balanced": 45, "best": 120}


def main(url: str, runs: int = 3, presets: str = "quick") -> None:
    client = Client(url, verbose=False)
    rows = []
    for name in presets.split(","):
        firsts, totals, status = [], [], ""
        for i in range(runs):
            t, first = time.perf_counter(), None
            job = client.submit(handle_file(str(ROOT / "examples/photos/chelsea.jpg")),
                                handle_file(str(ROOT / "examples/styles/swirling_night.jpg")),
                                preset=name, api_name="/stylize")
            for _ in job:
                first = first or time.perf_counter() - t
            totals.append(time.perf_counter() - t)
            firsts.append(first)
            status = job.outputs()[-1][1]
            print(f"{name} run {i}: first frame {first:.2f} s, done {totals[-1]:.1f} s, "
                  f"{len(job.outputs())} updates; {status}", flush=True)
        size = re.search(r"(\d+×\d+) px", status)
        steps = re.search(r"(\d+) steps", status)
        rows.append((name, runs, statistics.median(firsts), max(firsts), statistics.median(totals),
                     size[1] if size else "?", steps[1] if steps else "?"))
    print("| preset (budget) | runs | first frame, median (max) | final picture, median | ÷ budget | size | steps |\n"
          "|---|---|---|---|---|---|---|")
    for name, n, first, worst, total, size, steps in rows:
        print(f"| {name} ({BUDGETS[name]} s) | {n} | {first:.2f} s ({worst:.2f} s) | {total:.1f} s | "
              f"{total / BUDGETS[name]:.2f} | {size} | {steps} |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3,
         sys.argv[3] if len(sys.argv) > 3 else "quick")

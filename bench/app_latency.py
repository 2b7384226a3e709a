"""What a visitor waits for: time to the first streamed frame and to the finished quick-preset
picture, through the real HTTP API (gradio_client), against a running app.

    python app.py &                                   # then, once it is up:
    python bench/app_latency.py http://127.0.0.1:7860/ 5
"""
import statistics
import sys
import time
from pathlib import Path

from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]


def main(url: str, runs: int = 3) -> None:
    client = Client(url, verbose=False)
    firsts, totals = [], []
    for i in range(runs):
        t, first = time.perf_counter(), None
        job = client.submit(handle_file(str(ROOT / "examples/photos/chelsea.jpg")),
                            handle_file(str(ROOT / "examples/styles/swirling_night.jpg")),
                            api_name="/stylize")
        for _ in job:
            first = first or time.perf_counter() - t
        totals.append(time.perf_counter() - t)
        firsts.append(first)
        print(f"run {i}: first frame {first:.2f} s, done {totals[-1]:.1f} s, "
              f"{len(job.outputs())} frames", flush=True)
    print("| runs | first frame, median | quick preset done, median |\n|---|---|---|\n"
          f"| {runs} | {statistics.median(firsts):.2f} s | {statistics.median(totals):.1f} s |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)

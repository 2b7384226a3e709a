"""What a visitor waits for, per budget: time to the first streamed frame and to the final picture,
against a running app; the size and steps it took. Through the real HTTP API (gradio_client), or
with --page in Chromium: from the click on Paint to the first frame drawn on the page and to the
status line's "Done", timed by the page's own clock (every event of the click's chain included).

    python app.py &                                   # then, once it is up:
    python bench/app_latency.py http://127.0.0.1:7860/ 3                  # quick, 3 runs
    python bench/app_latency.py http://127.0.0.1:7860/ 2 quick,balanced,best
    python bench/app_latency.py http://127.0.0.1:7860/ 5 quick --page
"""
import json
import re
import statistics
import sys
import time
from pathlib import Path

from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from nst.settings import PRESETS as BUDGETS  # noqa: E402  (preset -> seconds)


PHOTO, PAINTING = ROOT / "examples/photos/chelsea.jpg", ROOT / "examples/styles/swirling_night.jpg"
# Runs in the page: clicks Paint and watches every animation frame for a new live picture that has
# loaded, then for the status line's last word; times from the click, by the page's clock.
CLICK_AND_WATCH = """() => new Promise(resolve => {
  const src = () => { const i = document.querySelector('#live img');
                      return i && i.complete && i.naturalWidth ? i.src : ''; };
  const stale = new Set([src()]), t0 = performance.now(), t = {clicked: performance.timeOrigin + t0};
  const watch = () => {
    const now = performance.now() - t0, s = src();
    const status = (document.querySelector('#status') || {}).innerText || '';
    // the picture a frame of this run brought (the live box first shows the last run's picture)
    if (!/Painting/.test(status)) stale.add(s);
    else if (t.first === undefined && s && !stale.has(s)) t.first = now;
    if (t.first !== undefined && /Done|Stopped/.test(status)) { t.done = now; t.status = status; resolve(t); }
    else if (/Not painted/.test(status)) { t.status = status; resolve(t); }
    else requestAnimationFrame(watch);
  };
  document.querySelector('#paint button, button#paint').click();
  requestAnimationFrame(watch);
})"""


def api_run(client, name: str):
    """One run through /stylize: (first frame s, final picture s, updates, final status)."""
    t, first = time.perf_counter(), None
    job = client.submit(handle_file(str(PHOTO)), handle_file(str(PAINTING)), preset=name, api_name="/stylize")
    for _ in job:
        first = first or time.perf_counter() - t
    return first, time.perf_counter() - t, len(job.outputs()), job.outputs()[-1][1]


def page_runs(url: str):
    """A Chromium page with the photo and painting chosen; returns run(name) like api_run's."""
    from playwright.sync_api import sync_playwright
    browser = sync_playwright().start().chromium.launch(
        executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"], headless=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.set_input_files("#content input[type=file]", str(PHOTO))
    page.set_input_files("#style input[type=file]", str(PAINTING))
    page.wait_for_selector("#style img")

    def run(name: str):
        page.click(f"#preset label:has-text('{name.capitalize()}')")
        page.wait_for_timeout(500)  # the preset's change event settles before the click
        t = page.evaluate(CLICK_AND_WATCH)
        if "done" not in t:
            raise SystemExit(f"not painted: {t['status']}")
        return t["first"] / 1000, t["done"] / 1000, None, t["status"].replace("\n", " ")
    return run


def main(url: str, runs: int = 3, presets: str = "quick", page: bool = False) -> None:
    run = page_runs(url) if page else (lambda name, c=Client(url, verbose=False): api_run(c, name))
    rows = []
    for name in presets.split(","):
        firsts, totals, status = [], [], ""
        for i in range(runs):
            first, total, updates, status = run(name)
            totals.append(total)
            firsts.append(first)
            print(f"{name} run {i}: first frame {first:.2f} s, done {total:.1f} s"
                  f"{f', {updates} updates' if updates else ''}; {status}", flush=True)
        size = re.search(r"(\d+×\d+) px", status)
        steps = re.search(r"(\d+) steps", status)
        rows.append({"preset": name, "budget_s": BUDGETS[name], "first_s": firsts, "final_s": totals,
                     "size": size[1] if size else "?", "steps": steps[1] if steps else "?"})
    from bench import host_kind, machine  # bench/bench.py
    from nst.speed import resolve_device
    info = machine(resolve_device("auto"))  # this machine: the server's where the URL is local
    flags = ", ".join(k for k, v in info.get("cpu_bf16_flags", {}).items() if v) or "none"
    how = "in Chromium, from the click on Paint" if page else "through /stylize"
    print(f"\nMachine: {info['cpu']} ({info['cores']} cores, {info['simd']}; bf16/AMX flags: {flags}), "
          f"torch {info['torch']}; {how}; `python bench/app_latency.py {' '.join(sys.argv[1:])}`\n")
    print("| preset (budget) | runs | first frame, median (max) | final picture, median | ÷ budget | size | steps |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        first, total = statistics.median(r["first_s"]), statistics.median(r["final_s"])
        print(f"| {r['preset']} ({r['budget_s']:g} s) | {len(r['first_s'])} | {first:.2f} s ({max(r['first_s']):.2f} s) "
              f"| {total:.1f} s | {total / r['budget_s']:.2f} | {r['size']} | {r['steps']} |")
    out = ROOT / "bench" / "results" / f"app-latency-{'page' if page else 'api'}-{host_kind(info)}.json"
    out.write_text(json.dumps({"machine": info, "measured": how, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--page"]
    main(args[0], int(args[1]) if len(args) > 1 else 3, args[2] if len(args) > 2 else "quick",
         page="--page" in sys.argv)

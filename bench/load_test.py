"""Load test: N concurrent gradio_client visitors x J short jobs against the real app, on loopback.

Some jobs are stopped after their first frame (Stop, as the page presses it), some upload hostile
files (tests/corpus.py). Every job must end as expected: completed, cancelled, or refused with a
readable message; anything else is an unexplained failure. A job counts as cancelled only when the
server says so: its own last frame reads "Stopped", fewer steps than asked painted. Reports time
to first frame and to completion (p50/p95), the server's peak RSS and its temp files before and
after (and, given a `probe`, the server's own counters), prints a table and writes
bench/results/load.json.

    python bench/load_test.py                      # 8 clients x 3 jobs, starts its own server
    python bench/load_test.py --clients 4 --jobs 2 --size 64 --steps 5
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import torch  # noqa: E402

from corpus import corpus, encode, photo  # noqa: E402
from nst.speed import describe  # noqa: E402
from live_server import live_server, rss_mb, temp_usage  # noqa: E402

GENERIC = "has not enabled verbose error reporting"  # Gradio's words for an unhandled error
BAD = [c for c in corpus() if c.reason]
# 'busy' is the queue's "try again" answer: explained.
EXPECTED = {"normal": ("completed", "busy"), "bad": ("refused", "busy"),
            "cancel": ("cancelled", "busy")}
CANCEL_STEPS = 400  # a cancelled job asks for a long run, so only a working cancel ends it early
STOPPED = re.compile(r"\*\*Stopped\*\*.* · (\d+) steps in ")  # the server's final frame after Stop


@dataclass
class Outcome:
    client: int
    job: int
    kind: str  # 'normal' | 'cancel' | 'bad'
    result: str = "failed"  # 'completed' | 'cancelled' | 'refused' | 'busy' | 'failed'
    expected: bool = False
    first_frame_s: float | None = None
    done_s: float | None = None
    message: str = ""
    cancel_to_end_s: float | None = None  # from Stop to the server's final frame
    steps: int | None = None  # steps painted, as the server's final frame says


def kind_of(k: int) -> str:
    """Of every four jobs: two normal, one hostile file, one cancelled midway."""
    return ("normal", "bad", "normal", "cancel")[k % 4]


def press_stop(client) -> None:
    """Stop as the page presses it: the app's Stop handler (page only, outside the queue; not an
    API name) by its index, in the client's session: the server ends the session's run after its
    current step with its best picture and a final frame that says "Stopped"."""
    import httpx
    config = client.config
    stop = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "stop")
    dep = next(d for d in config["dependencies"] if [stop, "click"] in [list(t) for t in d["targets"]])
    body = {"data": [], "fn_index": dep["id"], "session_hash": client.session_hash, "event_data": None,
            "trigger_id": stop}
    httpx.post(client.src_prefixed + "run/predict", json=body, timeout=30).raise_for_status()


def run_job(client, kind: str, k: int, files: Path, params: dict, timeout: float) -> Outcome:
    from gradio_client import Client, handle_file
    out = Outcome(0, 0, kind)
    content = files / BAD[k % len(BAD)].name if kind == "bad" else files / "photo.jpg"
    t0 = time.monotonic()
    if kind == "cancel":
        params = {**params, "steps": CANCEL_STEPS}
        # its own session: a Stop reaches every run of a session, later ones included
        client = Client(client.src, verbose=False)
    job = client.submit(handle_file(str(content)), handle_file(str(files / "style.jpg")),
                        **params, api_name="/stylize")
    stopped = None
    while not job.done():
        now = time.monotonic() - t0
        if out.first_frame_s is None and job.outputs():
            out.first_frame_s = now
            if kind == "cancel":
                press_stop(client)
                stopped = now
        if now > timeout:
            job.cancel()
            out.message = f"no answer within {timeout:.0f} s"
            return out
        time.sleep(0.02)
    out.done_s = time.monotonic() - t0
    if stopped is not None:
        out.cancel_to_end_s = out.done_s - stopped
    try:
        final = job.result()
        status = final[1] if final else ""
        m = STOPPED.search(status)
        out.steps = int(m[1]) if m else None
        # cancelled only as the server tells it: its final frame says Stopped, the run cut short
        out.result = "completed" if final and "**Done**" in status else (
            "cancelled" if m and out.steps < CANCEL_STEPS else "failed")
        out.message = status[:120]
    except Exception as e:  # noqa: BLE001 (every way a job can end is classified below)
        msg = str(e)
        if "Queue is full" in msg:
            out.result = "busy"
        elif msg and GENERIC not in msg and "Traceback" not in msg and stopped is None:
            out.result = "refused"
        out.message = (msg or type(e).__name__)[:160]
    out.expected = out.result in EXPECTED[kind]
    return out


class RssSampler(threading.Thread):
    """Samples the server's resident memory every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.stop = pid, every, 0.0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except Exception:  # noqa: BLE001 (the process may be gone at shutdown)
                pass
            self.stop.wait(self.every)


def write_inputs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photo.jpg").write_bytes(encode(photo(96, 72), "JPEG", quality=90))
    (folder / "style.jpg").write_bytes(encode(photo(64, 64, seed=5), "JPEG", quality=90))
    for case in BAD:
        (folder / case.name).write_bytes(case.data)
    return folder


def pct(values: list, q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run_load(url: str, pid: int, temp_dir: Path, clients: int = 8, jobs: int = 3, size: int = 128,
             steps: int = 40, timeout: float = 300, probe=None) -> dict:
    """The load itself, against a running server (pid: its process, for RSS). `probe`: for a
    server in this process, a function returning its own counters ({name: number}), read after the
    warm-up run and after the load (result['server'])."""
    from gradio_client import Client
    import gc
    files = write_inputs(temp_dir / "inputs")
    params = dict(size=size, steps=steps)
    warm = run_job(Client(url, verbose=False), "normal", 0, files, params, timeout)  # noqa: F841
    gc.collect()
    rss_before, (tmp_files_before, tmp_mb_before) = rss_mb(pid), temp_usage(temp_dir)
    server_before = probe() if probe else None
    sampler = RssSampler(pid)
    sampler.start()
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def visitor(i: int):
        client = Client(url, verbose=False)  # one session per visitor
        for j in range(jobs):
            k = i * jobs + j
            o = run_job(client, kind_of(k), k, files, params, timeout)
            o.client, o.job = i, j
            with lock:
                outcomes.append(o)

    t0 = time.monotonic()
    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    time.sleep(2)  # let the server finish its cleanup after the last answer
    sampler.stop.set()
    sampler.join()
    rss_after, (tmp_files_after, tmp_mb_after) = rss_mb(pid), temp_usage(temp_dir)
    server_after = probe() if probe else None
    counts = {r: sum(o.result == r for o in outcomes)
              for r in ("completed", "cancelled", "refused", "busy", "failed")}
    done = [o for o in outcomes if o.result == "completed"]
    return {
        "machine": {**describe(torch.device("cpu")), "platform": platform.platform(),
                    "python": platform.python_version()},
        "setting": {"clients": clients, "jobs_per_client": jobs, "size": size, "steps": steps,
                    "cancel_steps": CANCEL_STEPS,
                    "mix": "of every 4 jobs: 2 normal, 1 hostile file, 1 stopped after its first frame"},
        "counts": counts,
        "unexplained": sum(not o.expected for o in outcomes),
        "first_frame_s": {"p50": pct([o.first_frame_s for o in done], .5),
                          "p95": pct([o.first_frame_s for o in done], .95)},
        "completion_s": {"p50": pct([o.done_s for o in done], .5),
                         "p95": pct([o.done_s for o in done], .95)},
        "refusal_s": {"p50": pct([o.done_s for o in outcomes if o.result == "refused"], .5)},
        "cancel_to_end_s": {"p50": pct([o.cancel_to_end_s for o in outcomes if o.cancel_to_end_s], .5)},
        "wall_s": wall,
        "rss_mb": {"before": rss_before, "peak": max(sampler.peak, rss_before), "after": rss_after},
        "temp": {"files_before": tmp_files_before, "files_after": tmp_files_after,
                 "mb_before": tmp_mb_before, "mb_after": tmp_mb_after},
        "server": {"before": server_before, "after": server_after},
        "jobs": [asdict(o) for o in outcomes],
    }


def table(r: dict) -> str:
    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    c, s = r["counts"], r["setting"]
    rows = [
        ("machine", f"{r['machine']['cpu']}, {r['machine']['cores']} cores, {r['machine']['simd']}"),
        ("setting", f"{s['clients']} clients x {s['jobs_per_client']} jobs, {s['size']} px, "
                    f"{s['steps']} steps"),
        ("completed / cancelled / refused / busy / failed",
         f"{c['completed']} / {c['cancelled']} / {c['refused']} / {c['busy']} / {c['failed']}"),
        ("unexplained outcomes", str(r["unexplained"])),
        ("time to first frame p50 / p95 (s)", f"{f(r['first_frame_s']['p50'])} / {f(r['first_frame_s']['p95'])}"),
        ("time to completion p50 / p95 (s)", f"{f(r['completion_s']['p50'])} / {f(r['completion_s']['p95'])}"),
        ("refusal p50 (s)", f(r["refusal_s"]["p50"])),
        ("Stop to the final frame p50 (s)", f(r["cancel_to_end_s"]["p50"])),
        ("wall time (s)", f(r["wall_s"])),
        ("server RSS before / peak / after (MB)",
         f"{r['rss_mb']['before']:.0f} / {r['rss_mb']['peak']:.0f} / {r['rss_mb']['after']:.0f}"),
        ("temp files before -> after", f"{r['temp']['files_before']} -> {r['temp']['files_after']} "
                                       f"({r['temp']['mb_before']:.1f} -> {r['temp']['mb_after']:.1f} MB)"),
    ]
    w = max(len(a) for a, _ in rows)
    return "\n".join(f"| {a:<{w}} | {b} |" for a, b in rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per job before it counts as failed")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    a = ap.parse_args(argv)
    if not (1 <= a.clients <= 32 and 1 <= a.jobs <= 10):
        ap.error("keep it bounded: 1..32 clients, 1..10 jobs each")
    with live_server() as (url, proc, tmp):
        r = run_load(url, proc.pid, tmp, a.clients, a.jobs, a.size, a.steps, a.timeout)
    print(table(r))
    for o in r["jobs"]:
        if not o["expected"]:
            print("UNEXPLAINED:", o)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(r, indent=1))
    print(f"wrote {a.out}")
    return 0 if r["unexplained"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""More than one machine (or process): Ray paints a clip's chunks, or a batch's photos, in
parallel. Imported only with --workers or RAY_ADDRESS; install it with `pip install .[scale]`.

`ray.init()` joins the cluster at RAY_ADDRESS when it is set, else starts a local one. Each worker
is a Ray actor that loads VGG-19 and measures its own speed once, when it starts (a worker has
its own share of the threads, so its own model), and paints job after job with it. A stop (Ctrl-C)
reaches every worker through a flag actor they look at between steps: each ends its current
step with the best picture so far, and the work done comes back.
"""
from __future__ import annotations

import os
import threading
import time

POLL = 0.2  # s: how often the driver and the workers look at the stop flag


def start(workers: int | None) -> int:
    """Join (RAY_ADDRESS) or start a local cluster; returns how many workers to use: the number
    asked for, or one per node of a joined cluster."""
    try:
        import ray
    except ImportError:
        raise ValueError("--workers needs Ray: pip install -r requirements-scale.txt "
                         "(or pip install .[scale])") from None
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS") or None
        local = {} if address else {"num_cpus": max(workers or 1, os.cpu_count() or 1)}
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", **local)
    return workers or max(1, sum(1 for n in ray.nodes() if n.get("Alive")))


class RemoteStop:
    """On a worker: the driver's stop flag as an Event-like `is_set()`, asked at most every POLL s."""

    def __init__(self, flag):
        self.flag, self.checked, self.value = flag, 0.0, False

    def is_set(self) -> bool:
        import ray

        if not self.value and time.monotonic() - self.checked >= POLL:
            self.value = ray.get(self.flag.is_set.remote())
            self.checked = time.monotonic()
        return self.value


def _classes():
    import ray

    @ray.remote(num_cpus=0)
    class Flag:
        """The driver's stop, where every worker can see it."""

        def __init__(self):
            self.stopped = False

        def set(self):
            self.stopped = True

        def is_set(self) -> bool:
            return self.stopped

    @ray.remote(num_cpus=1)
    class Painter:
        """One worker: VGG-19 loaded and this worker's speed measured once, its share of the
        CPU's threads."""

        def __init__(self, weights: str, threads: int, flag):
            import torch

            from .speed import measured
            from .vgg import load_vgg

            torch.set_num_threads(threads)
            load_vgg(weights, "cpu", True)  # cached for every job of this worker
            measured("cpu", weights)  # measured now (or read from the cache), not in the first job
            self.stop = RemoteStop(flag)

        def ready(self) -> bool:
            return True

        def chunk(self, job, styles, s):
            from .video import paint_chunk

            return list(paint_chunk(job, styles, s, self.stop))

        def photo(self, photo, styles, s):
            from .engine import run

            if self.stop.is_set():  # stopped before this photo's turn: not painted at all
                return None
            return run(photo, styles, s, cancel=self.stop)

    return Flag, Painter


class Pool:
    """`workers` Painter actors and their stop flag. Start them early: they load VGG-19 and
    measure themselves while other work goes on."""

    def __init__(self, workers: int, weights: str):
        Flag, Painter = _classes()
        threads = max(1, (os.cpu_count() or 1) // workers)
        self.flag = Flag.remote()
        self.actors = [Painter.remote(weights, threads, self.flag) for _ in range(workers)]

    def gather(self, refs: list, cancel: threading.Event | None = None):
        """Yield each ref's result in order, waiting in short slices so that a stop (`cancel`,
        set by Ctrl-C) is passed on to the workers at once; they then end their current step and
        their results, the work done so far, still come back."""
        import ray

        told = False
        for ref in refs:
            while not ray.wait([ref], timeout=POLL)[0]:
                if cancel is not None and cancel.is_set() and not told:
                    self.flag.set.remote()
                    told = True
            if cancel is not None and cancel.is_set() and not told:
                self.flag.set.remote()
                told = True
            yield ray.get(ref)

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)


def chunk_runner(workers: int, weights: str):
    """For video.paint_clip: the chunks on `workers` Ray actors at once; yields each chunk's
    [(position, Frame)] in chunk order. The actors start now, so they load VGG-19 and measure
    themselves while the keyframes are painted."""
    pool = Pool(workers, weights)

    def run(jobs, styles, s, cancel=None):
        refs = [pool.actors[i % len(pool.actors)].chunk.remote(job, styles, s) for i, job in enumerate(jobs)]
        try:
            yield from pool.gather(refs, cancel)
        finally:  # done, stopped or failed: the workers go
            pool.close()
    return run


def paint_photos(photos: list, styles, s, workers: int, cancel: threading.Event | None = None):
    """A batch: every photo painted on its own by the pool; yields final Frames in input order,
    None for a photo a stop came before."""
    pool = Pool(min(workers, len(photos)), s.weights)
    refs = [pool.actors[i % len(pool.actors)].photo.remote(p, styles, s) for i, p in enumerate(photos)]
    try:
        yield from pool.gather(refs, cancel)
    finally:
        pool.close()

"""More than one machine (or process): Ray paints a clip's chunks, or a batch's photos, in
parallel. Imported only with --workers or RAY_ADDRESS; install it with `pip install .[scale]`.

`ray.init()` joins the cluster at RAY_ADDRESS when it is set, else starts a local one. Each worker
is a Ray actor that loads VGG-19 once, when it starts, and paints job after job with it.
"""
from __future__ import annotations

import os


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


def _painter_class():
    import ray

    @ray.remote(num_cpus=1)
    class Painter:
        """One worker: VGG-19 loaded once, its share of the CPU's threads."""

        def __init__(self, weights: str, threads: int):
            import torch

            from .vgg import load_vgg

            torch.set_num_threads(threads)
            load_vgg(weights, "cpu", True)  # cached for every job of this worker

        def chunk(self, job, styles, s):
            from .video import paint_chunk

            return list(paint_chunk(job, styles, s))

        def photo(self, photo, styles, s):
            from .engine import run

            return run(photo, styles, s)

    return Painter


def painters(workers: int, weights: str) -> list:
    threads = max(1, (os.cpu_count() or 1) // workers)
    Painter = _painter_class()
    return [Painter.remote(weights, threads) for _ in range(workers)]


def chunk_runner(workers: int, weights: str):
    """For video.paint_clip: the chunks on `workers` Ray actors at once; yields each chunk's
    [(position, Frame)] in chunk order (a chunk's frames arrive when it is done). The actors start
    now, so they load VGG-19 while the keyframes are painted."""
    pool = painters(workers, weights)

    def run(jobs, styles, s, cancel=None):
        import ray

        pending = [pool[i % len(pool)].chunk.remote(job, styles, s) for i, job in enumerate(jobs)]
        try:
            for ref in pending:
                yield ray.get(ref)
        finally:  # done, stopped or failed: the workers go (a kill also ends their running job)
            for actor in pool:
                ray.kill(actor)
    return run


def paint_photos(photos: list, styles, s, workers: int):
    """A batch: every photo painted on its own by the pool; yields final Frames in input order."""
    import ray

    pool = painters(min(workers, len(photos)), s.weights)
    refs = [pool[i % len(pool)].photo.remote(p, styles, s) for i, p in enumerate(photos)]
    try:
        for ref in refs:
            yield ray.get(ref)
    finally:
        for actor in pool:
            ray.kill(actor)

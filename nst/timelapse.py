"""A shareable time-lapse of a run: the streamed frames, downscaled, spread evenly over the run,
the final picture held at the end, written as an animated WebP (plays inline in browsers, loops).

    lapse = TimeLapse()
    for frame in stylize(...):
        if frame.info.stage == "painting":  # not the moment a level is enlarged
            lapse.add(frame.image, frame.step)
    lapse.write("run.webp")

Memory stays bounded: every k-th frame is kept, and k doubles (dropping every other kept frame)
when 2 x max_frames are kept, so what is kept stays evenly spread however long the run is.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image


class TimeLapse:
    def __init__(self, long_side: int = 384, max_frames: int = 48, seconds: float = 4.0,
                 hold: float = 1.5, quality: int = 80):
        self.long_side, self.max_frames, self.seconds, self.hold = long_side, max_frames, seconds, hold
        self.quality = quality
        self.frames: list[tuple[int, Image.Image]] = []  # (step, downscaled picture), every k-th
        self.latest: tuple[int, Image.Image] | None = None  # always kept: it may be the final one
        self._seen, self._every = 0, 1

    def add(self, image: Image.Image, step: int) -> None:
        """Keep a downscaled copy of the picture after `step` steps (the last added is the end)."""
        s = min(1.0, self.long_side / max(image.size))
        size = (max(1, round(image.width * s)), max(1, round(image.height * s)))
        self.latest = (step, image.convert("RGB").resize(size, Image.LANCZOS))
        if self._seen % self._every == 0:
            self.frames.append(self.latest)
            if len(self.frames) >= 2 * self.max_frames:
                self.frames, self._every = self.frames[::2], 2 * self._every
        self._seen += 1

    def pick(self) -> list[Image.Image]:
        """Up to max_frames pictures evenly spread over the steps, the final one last, all at the
        final picture's size (pyramid levels were painted smaller)."""
        if self.latest is None:
            raise ValueError("the time-lapse has no frames")
        kept = self.frames if self.frames[-1] is self.latest else self.frames + [self.latest]
        n = min(self.max_frames, len(kept))
        # evenly spaced by position among evenly kept frames; the first and the final included
        chosen = [kept[round(k * (len(kept) - 1) / max(1, n - 1))][1] for k in range(n)]
        size = self.latest[1].size
        return [im if im.size == size else im.resize(size, Image.LANCZOS) for im in chosen]

    def write(self, path: str | Path) -> Path:
        """Write the animated WebP; returns its path."""
        path = Path(path)
        if path.suffix.lower() != ".webp":
            raise ValueError(f"cannot write a time-lapse to {str(path)!r}: use a .webp file")
        pictures = self.pick()
        step_ms = max(40, round(1000 * self.seconds / max(1, len(pictures) - 1)))
        durations = [step_ms] * (len(pictures) - 1) + [round(1000 * self.hold)]
        pictures[0].save(path, format="WEBP", save_all=True, append_images=pictures[1:],
                         duration=durations, loop=0, quality=self.quality, method=4)
        return path

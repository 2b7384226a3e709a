"""Checkpoints of a long run: the picture, the optimizer's state, where the run stands in its plan,
and its settings, so that a run stopped (Ctrl-C, a crash, a machine taken back) can go on from
there. A resumed run follows its plan to the end as a fixed-length run: one that was never
stopped, with the same seed, ends with the same pixels.

    for frame in stylize(photo, painting, s, on_checkpoint=lambda c: c.save("out.ckpt")): ...
    for frame in stylize(photo, painting, resume=Checkpoint.load("out.ckpt")): ...
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from .settings import Settings

KIND = "nst checkpoint 1"


@dataclass
class Checkpoint:
    settings: dict  # the run's Settings, `levels` its plan from here on (a resumed run is fixed-length)
    level: int  # the level it stands at
    done_here: int  # steps done at that level
    step: int  # steps done in all
    times: dict  # level -> seconds of each step done there (the plan taken, and the rates)
    descent: dict  # Descent.state(): the pixels, the optimizer's state, the best picture seen
    inputs: str = ""  # fingerprint() of the photo and paintings it was painted from

    def to_settings(self) -> Settings:
        return Settings.from_values(self.settings)

    def save(self, path) -> Path:
        """Write it (atomically: a checkpoint is never half written)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save({"kind": KIND, **asdict(self)}, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> "Checkpoint":
        """Read one, or ValueError with a sentence."""
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise ValueError(f"no checkpoint at {str(path)!r}") from None
        except Exception:
            raise ValueError(f"{str(path)!r} is not a checkpoint this version can read") from None
        if not isinstance(d, dict) or d.get("kind") != KIND:
            raise ValueError(f"{str(path)!r} is not a checkpoint this version can read")
        return cls(**{f.name: d[f.name] for f in fields(cls)})


def fingerprint(*pictures: torch.Tensor) -> str:
    """A short digest of pictures' pixels: a resumed run must be given the same photo and
    paintings."""
    import hashlib

    h = hashlib.sha1()
    for x in pictures:
        h.update(str(tuple(x.shape)).encode())
        h.update(x.to(torch.uint8).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


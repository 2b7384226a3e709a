"""Regenerate docs/figure1.jpg: the paper's Figure 1 made by this project from example images.

    python scripts/make_figure1.py [--content PATH] [--style PATH] [--size 128] [--steps 100]

Prints each reconstruction's time as it finishes and the total; the README shows the result.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst import explore  # noqa: E402
from nst.intake import open_image  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--content", default=ROOT / "examples" / "photos" / "chelsea.jpg")
    ap.add_argument("--style", default=ROOT / "examples" / "styles" / "swirling_night.jpg")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("-o", "--out", default=ROOT / "docs" / "figure1.jpg")
    a = ap.parse_args(argv)
    s = explore.recon_settings(size=a.size, steps=a.steps)
    t0 = time.perf_counter()
    for p in explore.figure1(open_image(a.content), open_image(a.style), s):
        if p.frame is not None and p.frame.done and not p.done:
            print(f"{p.cell + 1:2d}/{p.cells}  {p.label:<30} {p.frame.elapsed:6.1f} s", flush=True)
    total = time.perf_counter() - t0
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    p.image.save(a.out, quality=88, optimize=True)
    print(f"total {total:.1f} s for {p.cells} reconstructions at {a.size} px, {a.steps} steps each "
          f"-> {a.out} ({Path(a.out).stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

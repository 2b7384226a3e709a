"""Does "the painting only where I brush" keep the rest the photo? (a check, not a timing): the CLI
with `--mask` over one half of held-out photos (pairs no setting was tuned on), mode `inside`; the
mean change from the photo, in grey levels, 8 px and more away from the mask's edge on each side,
and the brushed patch's grain over the painting's own (nst.yardstick.grain_ratio).

    python bench/mask.py                     # two held-out pairs, left half brushed, --preset quick
    python bench/mask.py --flags "--size 384 --steps 60"
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench import host_kind, machine  # noqa: E402  (bench/bench.py)
from nst.speed import resolve_device  # noqa: E402
from nst.yardstick import grain_ratio  # noqa: E402

PAIRS = [("coffee", "starry_night"), ("rocket", "the_scream"), ("coffee", "the_scream")]  # held out: see bench/quality.py
MARGIN = 8  # px from the edge, at the output's size
OUTSIDE_MAX, INSIDE_MIN = 4.0, 20.0  # grey levels: the bounds a brushed patch must keep
GRAIN_MAX = 1.0  # the patch's grain over the painting's own


def half_mask(size: tuple[int, int]) -> Image.Image:
    w, h = size
    m = np.zeros((h, w), np.uint8)
    m[:, : w // 2] = 255
    return Image.fromarray(m, "L")


def changes(out: Image.Image, photo: Image.Image) -> tuple[float, float]:
    """(inside, outside): mean |out - photo| over pixels at least MARGIN px from the edge."""
    a = np.asarray(out.convert("RGB"), np.float32)
    b = np.asarray(photo.convert("RGB").resize(out.size, Image.LANCZOS), np.float32)
    change, edge = np.abs(a - b).mean(2), out.width // 2
    return float(change[:, : edge - MARGIN].mean()), float(change[:, edge + MARGIN:].mean())


def one_pair(photo_name: str, painting_name: str, flags: str, tmp: Path) -> dict:
    photo_path = ROOT / "examples" / "photos" / f"{photo_name}.jpg"
    photo = Image.open(photo_path)
    mask, out = tmp / f"{photo_name}-mask.png", tmp / f"{photo_name}-out.png"
    half_mask(photo.size).save(mask)
    cmd = [sys.executable, "-m", "nst", str(photo_path), str(ROOT / "examples" / "styles" / f"{painting_name}.jpg"),
           "-o", str(out), "-q", "--mask", str(mask), "--mask-mode", "inside", *flags.split()]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    result = Image.open(out).convert("RGB")
    inside, outside = changes(result, photo)
    painting = Image.open(ROOT / "examples" / "styles" / f"{painting_name}.jpg")
    grain = grain_ratio(result, painting, half_mask((result.width - 2 * MARGIN, result.height)).crop(
        (-MARGIN, 0, result.width - MARGIN, result.height)))  # within the brush, MARGIN px from its edge
    return {"pair": f"{photo_name} × {painting_name}", "size": "x".join(map(str, result.size)),
            "inside": round(inside, 2), "outside": round(outside, 2), "grain_inside": round(grain, 3),
            "ok": inside >= INSIDE_MIN and outside <= OUTSIDE_MAX and grain <= GRAIN_MAX}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flags", default="--preset quick", help="the CLI's other flags")
    p.add_argument("--out", help="JSON path (default bench/results/mask-<host-kind>.json)")
    a = p.parse_args(argv)
    info = machine(resolve_device("auto"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = [one_pair(ph, pa, a.flags, Path(tmp)) for ph, pa in PAIRS]
    print(f"\nMachine: {info['cpu']} ({info['cores']} cores, {info['simd']}), torch {info['torch']}; "
          f"`python bench/mask.py --flags \"{a.flags}\"`; left half brushed, mode inside\n")
    print(f"| pair | size | change inside (≥ {INSIDE_MIN:g}) | change outside (≤ {OUTSIDE_MAX:g}) "
          f"| grain inside ÷ painting's (≤ {GRAIN_MAX:g}) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pair']} | {r['size']} | {r['inside']:.1f} | {r['outside']:.2f} | {r['grain_inside']:.2f} |")
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"mask-{host_kind(info)}.json"
    out.write_text(json.dumps({"machine": info, "flags": a.flags, "margin_px": MARGIN, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

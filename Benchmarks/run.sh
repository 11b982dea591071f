#!/usr/bin/env bash
# Side-by-side benchmark of one 320×320 tile of the demo FPN(resnext50_32x4d): geocam, PyTorch
# eager, ONNX Runtime and OpenVINO (f32), alternated in one run, 2 threads each.
#
#   Benchmarks/run.sh            (BENCH_ROUNDS=5; run on an otherwise idle machine)
#
# Sets up a pinned Python environment in .build/bench-venv (Benchmarks/requirements.txt; not
# needed by the tests), builds geocam in release mode, exports the checkpoint to ONNX, prints a
# table of best and median times with ratios to geocam and writes Benchmarks/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${BENCH_VENV:-.build/bench-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r Benchmarks/requirements.txt
fi
Scripts/install-deps.sh
swift build -c release --product geocam >&2
"$VENV/bin/python" Benchmarks/bench.py

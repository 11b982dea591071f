#!/usr/bin/env bash
# Fuzzes the readers of files GeoCAM does not trust with libFuzzer + AddressSanitizer
# (swiftc -sanitize=fuzzer,address): the checkpoint readers (torch zip, Lightning, safetensors,
# with every loaded tensor materialised), the restricted unpickler, NPY, and the run-state files
# a resumed run reads back (tile results, run locks, audit window states).
#
#   Scripts/reliability/fuzz.sh [TOTAL_EXECUTIONS]      (default 1,000,000, split over the targets)
#
# Seeds are real files (Fuzz/corpus/<target>/, committed); new inputs go to a scratch corpus.
# Every crash, leak, timeout or out-of-memory input is saved in Fuzz/regressions/<target>/ (the
# test suite replays that folder) and fails the run. Ends with one verdict line.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOTAL=${1:-1000000}
BUILD=${FUZZ_BUILD:-.build/fuzz}
WORK=${FUZZ_WORK:-$BUILD/corpus}
mkdir -p "$BUILD" "$WORK"

build() {  # name module sources…
  local name=$1 module=$2
  shift 2
  rm -f "$BUILD/$name"
  swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" -I "$BUILD/core" "$@" \
    Fuzz/Targets/FuzzFile.swift "$BUILD/core/libGeoCAMCore.a" -o "$BUILD/$name" 2>&1 | grep -v "ld.gold: warning" || true
  [ -x "$BUILD/$name" ] || { echo "fuzz: cannot build $name" >&2; exit 1; }
}

echo "fuzz: building targets" >&2
# GeoCAMCore (shared error shape, argmax, …) as a module the targets import.
mkdir -p "$BUILD/core"
(cd "$BUILD/core" && swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name GeoCAMCore -emit-module \
  -emit-library -static "$OLDPWD"/Sources/GeoCAMCore/*.swift -o libGeoCAMCore.a)
build checkpoint GeoCAMCheckpoint Sources/GeoCAMCheckpoint/*.swift Fuzz/Targets/CheckpointFuzz.swift
build unpickler GeoCAMCheckpoint Sources/GeoCAMCheckpoint/*.swift Fuzz/Targets/UnpicklerFuzz.swift
build npy GeoCAMTensor Sources/GeoCAMTensor/NPYFile.swift Fuzz/Targets/NPYFuzz.swift
build runstate GeoCAMPipeline Sources/GeoCAMPipeline/{TileResult,BinaryReader,BinaryWriter,TileModel,PipelineError,RunLock}.swift \
  Fuzz/Targets/RunStateFuzz.swift

# Share of the executions per target (the in-memory unpickler is the fastest).
declare -A SHARE=([unpickler]=40 [checkpoint]=30 [npy]=10 [runstate]=20)
executed=0
failed=()
for target in unpickler checkpoint npy runstate; do
  runs=$((TOTAL * SHARE[$target] / 100))
  mkdir -p "$WORK/$target" "Fuzz/regressions/$target"
  log="$BUILD/$target.log"
  echo "fuzz: $target, $runs executions" >&2
  # -rss_limit_mb / -malloc_limit_mb catch runaway allocation, -timeout hangs; failures are kept.
  set +e
  "$BUILD/$target" "$WORK/$target" "Fuzz/corpus/$target" -runs="$runs" -max_len=65536 -timeout=20 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="Fuzz/regressions/$target/" >"$log" 2>&1
  rc=$?
  set -e
  n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  n=${n:-0}
  executed=$((executed + n))
  if [ "$rc" -ne 0 ]; then
    failed+=("$target")
    grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5 >&2
  fi
  echo "fuzz: $target: $n executions, exit $rc" >&2
done
rm -rf /dev/shm/geocam-fuzz-* 2>/dev/null || true
if [ ${#failed[@]} -eq 0 ]; then
  echo "fuzz: PASS — $executed executions over 4 targets (checkpoint, unpickler, npy, runstate), no crash, hang or runaway allocation"
else
  echo "fuzz: FAIL — $executed executions; failures in ${failed[*]} (inputs saved in Fuzz/regressions/)"
  exit 1
fi

#!/usr/bin/env bash
# Kill anywhere: runs `geocam explain` (the demo checkpoint on a 480×480 window of the demo
# scene, 4 tiles, raw arrays written) and kills it with SIGKILL or SIGTERM at random moments,
# resuming each time, then does the same for two shards and a merge (killing the merge too).
# After every kill no output may look finished unless it is complete (OUT.json present ⇒ every
# file equals the uninterrupted run's); at the end the files must equal an uninterrupted run's:
# rasters, PNG and NPY byte-identical, JSON identical except the fields that describe the
# invocation (seconds, tile and block counts of this invocation, warnings about taken-over locks).
#
#   Scripts/reliability/kill.sh [KILLS]        (default 60; at least 50 for the record)
set -euo pipefail
cd "$(dirname "$0")/../.."
KILLS=${1:-60}
SEED=${SEED:-20261201}
RANDOM=$SEED
GEOCAM=${GEOCAM:-.build/release/geocam}
[ -x "$GEOCAM" ] || swift build -c release --product geocam >&2
CKPT=Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors
SCENE=Tiles/demo-main.tif
WORK=${KILL_WORK:-.build/kill}
rm -rf "$WORK"
mkdir -p "$WORK"
ARGS=(--checkpoint "$CKPT" --window 100,100,480,480 --methods gradcam,guided-gradcam --quiet)

# JSON without the fields that describe one invocation rather than the result.
normalize() {
  python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("seconds", "tiles", "blocks", "warnings", "status", "mergedParts", "shard", "outputs"):
    d.pop(k, None)
print(json.dumps(d, sort_keys=True))
EOF
}

# Every output file of OUT (explanations, probabilities, classes, quicklook, raw arrays).
outputs_equal() {  # reference-prefix candidate-prefix [raw-ref raw-cand]
  local ref=$1 cand=$2
  for ext in tif probs.tif classes.tif quicklook.png; do
    cmp -s "$ref.$ext" "$cand.$ext" || { echo "differs: $cand.$ext" >&2; return 1; }
  done
  [ "$(normalize "$ref.json")" = "$(normalize "$cand.json")" ] || { echo "differs: $cand.json" >&2; return 1; }
  if [ $# -ge 4 ]; then
    diff -r -q "$3" "$4" >/dev/null || { echo "differs: raw arrays $4" >&2; return 1; }
  fi
}

echo "kill: reference runs" >&2
"$GEOCAM" explain "$SCENE" "${ARGS[@]}" --output "$WORK/ref.tif" --raw-dir "$WORK/ref-raw" >/dev/null
kills=0
checks=0
bad=0

# Runs CMD… until it exits by itself, killing it at random moments; after each kill checks
# that an output marked finished (its JSON) is complete and right.
kill_until_done() {  # json-to-watch compare-fn cmd…
  local watch=$1 check=$2
  shift 2
  while true; do
    "$@" >/dev/null 2>&1 &
    local pid=$!
    # 0.05…3.0 s: from process start-up to the last block and the final renames.
    local delay
    delay=$(python3 -c "import random; random.seed($RANDOM); print(round(random.uniform(0.05, 3.0), 3))")
    sleep "$delay"
    if kill -0 "$pid" 2>/dev/null; then
      if ((RANDOM % 2)); then kill -KILL "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
      wait "$pid" 2>/dev/null || true
      kills=$((kills + 1))
      checks=$((checks + 1))
      if [ -f "$watch" ] && ! $check; then bad=$((bad + 1)); echo "kill: a killed run left a finished-looking output that is wrong" >&2; fi
    else
      wait "$pid"
      return 0
    fi
  done
}

round=0
while ((kills < KILLS)); do
  round=$((round + 1))
  out="$WORK/r$round"
  rm -rf "$out"* "$WORK/raw$round"
  check_single() { outputs_equal "$WORK/ref" "$out" "$WORK/ref-raw" "$WORK/raw$round"; }
  kill_until_done "$out.json" check_single "$GEOCAM" explain "$SCENE" "${ARGS[@]}" --output "$out.tif" --raw-dir "$WORK/raw$round"
  checks=$((checks + 1))
  check_single || bad=$((bad + 1))
  echo "kill: single run $round done, $kills kills so far" >&2

  # Two shards and a merge, each killed too.
  sh="$WORK/s$round"
  check_merged() { outputs_equal "$WORK/ref" "$sh"; }
  check_none() { true; }
  for i in 0 1; do
    kill_until_done "$sh.part-$i-of-2.json" check_none "$GEOCAM" explain "$SCENE" "${ARGS[@]}" --output "$sh.tif" --shard "$i/2"
  done
  kill_until_done "$sh.json" check_merged "$GEOCAM" merge "$sh.tif" --quiet
  checks=$((checks + 1))
  check_merged || bad=$((bad + 1))
  echo "kill: shards + merge $round done, $kills kills so far" >&2
done

if ((bad == 0)); then
  echo "kill: PASS — $kills kills (SIGKILL/SIGTERM at random moments) over $round single runs and $round shard+merge runs, $checks checks; every resumed output equals the uninterrupted run's, no partial output looked finished"
else
  echo "kill: FAIL — $bad of $checks checks failed after $kills kills"
  exit 1
fi

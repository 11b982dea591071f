#!/usr/bin/env bash
# The main job on the embedded default: builds geocam and runs it on the demo scene with the
# demo checkpoint. Extra arguments go to the explain command.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
swift build -c release --product geocam
GEOCAM=.build/release/geocam
CKPT=Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors
if [ -f "$CKPT" ] && [ -f Tiles/demo-main.tif ] && "$GEOCAM" help explain >/dev/null 2>&1; then
  mkdir -p demo-out
  "$GEOCAM" explain Tiles/demo-main.tif --checkpoint "$CKPT" --output demo-out/demo-main.tif "$@"
else
  # Until the demo checkpoint lands: describe a real Lightning checkpoint and time the model.
  "$GEOCAM" inspect Tests/Fixtures/checkpoints/lightning.ckpt || true
  "$GEOCAM" bench --iterations 2
fi

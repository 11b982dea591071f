#!/usr/bin/env bash
# The main job on the embedded default: builds geocam and explains the demo scene with the demo
# checkpoint (Grad-CAM, Grad-CAM++ and Guided Grad-CAM for the three classes) into demo-out/.
# Extra arguments go to the explain command.
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors
SCENE=Tiles/demo-main.tif
for f in "$CKPT" "$SCENE"; do
  [ -f "$f" ] || { echo "demo.sh: $f is missing (run from a full clone of the repository)" >&2; exit 1; }
done
Scripts/install-deps.sh
swift build -c release --product geocam
mkdir -p demo-out
.build/release/geocam explain "$SCENE" --checkpoint "$CKPT" --output demo-out/demo-main.tif "$@"
echo "Open demo-out/demo-main.tif (one band per method and class) over $SCENE in QGIS, or look at demo-out/demo-main.quicklook.png."

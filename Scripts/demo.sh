#!/usr/bin/env bash
# The main job on the embedded default: builds geocam and explains the demo scene with the demo
# checkpoint (Grad-CAM, Grad-CAM++ and Guided Grad-CAM for the three classes) into demo-out/.
# Extra arguments go to the explain command. A finished run is not redone; after changing the
# arguments add --restart (geocam refuses to mix the outputs of two different commands).
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
echo "Open the explanation GeoTIFF (one band per method and class; demo-out/demo-main.tif by default) over $SCENE in QGIS, or its .quicklook.png."

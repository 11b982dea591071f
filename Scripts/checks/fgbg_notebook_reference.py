"""Recomputes `geocam study fgbg --protocol notebook` per-image means from raw Grad-CAM maps,
the way the VOC notebook does after its forward pass (NumPy + Pillow 12.0.0):

  mask: Image.open(png) (palette indices) → Resize(256) (nearest on a 'P' image) →
        Resize((224, 224)) (nearest again); fraction = (mask == class).mean() over 224²;
  map:  the raw Grad-CAM at the layer (geocam explain --raw maps, after ReLU), upsampled
        bilinearly with half-pixel centres (align_corners=False) to 224², then
        (h − min)/(max − min), no ε; a constant map is NaN and left out;
  means inside (mask == class) and outside (everything else, void included).

usage: fgbg_notebook_reference.py VOC_ROOT CLASS_VALUE RAW_DIR CLASS_INDEX CLASS_NAME PER_IMAGE_CSV
Prints the largest difference from geocam's per_image.csv and exits 1 above 1e-6.
"""
import csv
import os
import sys

import numpy as np
from PIL import Image


def upsample(m, size):
    h, w = m.shape
    ys = (np.arange(size) + 0.5) * h / size - 0.5
    xs = (np.arange(size) + 0.5) * w / size - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1); y1 = np.clip(y0 + 1, 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1); x1 = np.clip(x0 + 1, 0, w - 1)
    fy = np.clip(ys - np.floor(ys), 0, 1)[:, None]; fx = np.clip(xs - np.floor(xs), 0, 1)[None, :]
    fy = np.where((ys < 0)[:, None], 0, fy); fx = np.where((xs < 0)[None, :], 0, fx)
    a = m[y0][:, x0]; b = m[y0][:, x1]; c = m[y1][:, x0]; d = m[y1][:, x1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


root, value, raw, k, name, table = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
ours = {r["id"]: r for r in csv.DictReader(open(table)) if r["method"] == "gradcam" and r["class"] == name}
worst = 0.0
for ident in sorted(ours):
    mask = Image.open(os.path.join(root, "SegmentationClass", ident + ".png"))
    w, h = mask.size
    short, long = min(w, h), max(w, h)
    size = (256, int(256 * long / short)) if w <= h else (int(256 * long / short), 256)
    m = np.asarray(mask.resize(size, Image.BILINEAR).resize((224, 224), Image.BILINEAR))
    cam = upsample(np.load(os.path.join(raw, ident, f"gradcam_{k}.npy")).astype(np.float64), 224)
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    inside, outside = cam[m == value].mean(), cam[m != value].mean()
    r = ours[ident]
    worst = max(worst, abs(inside - float(r["mean_inside"])), abs(outside - float(r["mean_outside"])),
                abs((m == value).mean() - float(r["fraction"])))
print(f"{len(ours)} images; largest difference from geocam: {worst:.2e}")
sys.exit(0 if worst <= 1e-6 else 1)

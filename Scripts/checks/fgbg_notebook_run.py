"""Runs the VOC aeroplane notebook's own procedure with PyTorch and pytorch-grad-cam on a VOC
folder and compares it with `geocam study fgbg --protocol notebook` on the same checkpoint.

The notebook's steps (studies_reference.md): every JPEGImages file with a SegmentationClass
PNG, sorted; image Resize((224, 224)) (PIL, bilinear) → ToTensor → ImageNet Normalize; mask
Resize(256) then Resize((224, 224)) on the palette image (nearest); fraction = (mask == class)
over 224²; keep fraction ≥ 0.2; Grad-CAM of the class logit at layer4[-1].conv3 (ReLU,
upsampled bilinearly, align_corners=False), then (h − min)/(max − min); mean inside vs
outside; paired t-test and d = mean/sd of the differences.

usage: fgbg_notebook_run.py CHECKPOINT.safetensors VOC_ROOT VOC_CLASS_INDEX TARGET_CLASS GEOCAM_STUDY_JSON
Pinned: torch 2.15.0, torchvision 0.29.2, grad-cam 1.5.7, Pillow 12.0.0, scipy 1.17.1.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from safetensors.torch import load_file
from scipy import stats

ckpt, root, voc_class, target, study = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
model = torchvision.models.resnet50(weights=None)
model.load_state_dict(load_file(ckpt), strict=False)
model.eval()
tf = T.Compose([T.Resize((224, 224)), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
cam = GradCAM(model=model, target_layers=[model.layer4[-1].conv3])
import pytorch_grad_cam.base_cam as base_cam  # noqa: E402

base_cam.scale_cam_image = lambda c, target_size=None: c  # raw, then the notebook's own steps
ids = sorted(f[:-4] for f in os.listdir(os.path.join(root, "SegmentationClass")) if f.endswith(".png")
             and os.path.exists(os.path.join(root, "JPEGImages", f[:-4] + ".jpg")))
rows = []
for i in ids:
    img = Image.open(os.path.join(root, "JPEGImages", i + ".jpg")).convert("RGB")
    mask = Image.open(os.path.join(root, "SegmentationClass", i + ".png"))
    m = np.asarray(T.Resize((224, 224))(T.Resize(256)(mask)))
    frac = float((m == voc_class).mean())
    if frac < 0.2:
        continue
    raw = cam(input_tensor=tf(img)[None], targets=[ClassifierOutputTarget(target)])[0]
    h = F.interpolate(torch.from_numpy(raw)[None, None], size=(224, 224), mode="bilinear", align_corners=False)[0, 0].numpy()
    if h.max() == h.min():
        continue
    h = (h - h.min()) / (h.max() - h.min())
    rows.append((i, frac, float(h[m == voc_class].mean()), float(h[m != voc_class].mean())))
d = np.array([r[2] - r[3] for r in rows])
t = stats.ttest_rel([r[2] for r in rows], [r[3] for r in rows]).statistic
dz = d.mean() / d.std(ddof=1)
ours = json.load(open(study))["tests"][0]
units = {u["id"]: u for u in ours["units"]}
worst = max(max(abs(units[i]["mean_inside"] - a), abs(units[i]["mean_outside"] - b)) for i, _, a, b in rows)
print(f"notebook: n {len(rows)}, t {t:.6f}, d {dz:.6f}; geocam: n {ours['statistics']['n']}, "
      f"t {ours['statistics']['t']:.6f}, d {ours['statistics']['cohen_dz']:.6f}; largest per-image difference {worst:.2e}")
ok = len(rows) == ours["statistics"]["n"] and worst <= 1e-3 and abs(t - ours["statistics"]["t"]) <= 1e-3 * abs(t)
sys.exit(0 if ok else 1)

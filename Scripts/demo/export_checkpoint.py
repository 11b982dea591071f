#!/usr/bin/env python3
"""Exports the demo model's Lightning checkpoint as GeoCAM's float16 safetensors file.

Input: a checkpoint written by `train_demo_model.py` (Lightning; state_dict keys `std`, `mean`,
`model.<smp key>`, `ce_loss.weight`). Output (default
`Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors`):
  * the plain smp FPN state dict: keys `encoder.…`, `decoder.…`, `segmentation_head.…` (the
    `model.` prefix stripped; `mean`, `std` and `ce_loss.weight` dropped), floating tensors as
    float16, BatchNorm `num_batches_tracked` kept as int64 (they are part of an smp state dict);
  * `__metadata__` = {"format": "pt", "geocam": JSON} with class_names, mean, std (ImageNet),
    pixel_range 255 (raw 0-255 input, as trained), channel_order RGB, gsd_m 0.08, architecture
    FPN, encoder resnext50_32x4d.

float16 range: the model sees raw 0-255 pixels normalised with 0-1 statistics, so the stem's
activations are ~255x larger than usual and `encoder.bn1.running_var` can exceed float16's
maximum (65504). If it would, the stem is rescaled exactly: conv1.weight /= k, bn1.running_mean
/= k, bn1.running_var /= k^2 (k a power of two), which leaves bn1's output unchanged up to BN's
eps (1e-5, negligible next to the variance). Every other tensor is checked for overflow and the
export refuses to write a file with inf/nan. The script then compares the float16 model with the
float32 one on a generated scene (same argmax on >= 99.5% of pixels required).

`--bias-offsets FILE` adds the per-class offsets fitted by `calibrate_biases.py` on validation
scenes to `segmentation_head.0.bias` (recorded in the metadata as `bias_offsets`).

Usage: python Scripts/demo/export_checkpoint.py demo-train/last.ckpt --bias-offsets demo-train/bias_offsets.json
Pinned versions: Scripts/demo/requirements.txt.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file, load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "Checkpoints", "geocam-demo-fpn-resnext50_32x4d.safetensors")
F16_MAX = 65504.0
META = {
    "class_names": ["background", "solar_panel", "water_heater", "pool_heater"],
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "pixel_range": 255,
    "channel_order": "RGB",
    "gsd_m": 0.08,
    "architecture": "FPN",
    "encoder": "resnext50_32x4d",
}


def plain_state_dict(ckpt_path):
    sd = torch.load(ckpt_path, map_location="cpu", weights_only=False)["state_dict"]
    out = {}
    for k, v in sd.items():
        if k.startswith("model."):
            out[k[len("model."):]] = v
        elif k not in ("mean", "std", "ce_loss.weight"):
            raise SystemExit(f"unexpected key in checkpoint: {k}")
    return out


def rescale_stem(sd):
    """Scales conv1/bn1 so bn1.running_var fits float16 comfortably; returns the factor k."""
    var = sd["encoder.bn1.running_var"].double()
    vmax = float(var.max())
    if vmax <= F16_MAX / 4:
        return 1
    k = 2 ** math.ceil(0.5 * math.log2(vmax / (F16_MAX / 16)))
    sd["encoder.conv1.weight"] = sd["encoder.conv1.weight"] / k
    sd["encoder.bn1.running_mean"] = sd["encoder.bn1.running_mean"] / k
    sd["encoder.bn1.running_var"] = sd["encoder.bn1.running_var"] / (k * k)
    return k


def to_f16(sd):
    out = {}
    for k, v in sd.items():
        v = v.detach().contiguous()
        if v.is_floating_point():
            big = float(v.abs().max()) if v.numel() else 0.0
            if big >= F16_MAX:
                raise SystemExit(f"{k}: max |value| {big:g} does not fit float16")
            h = v.to(torch.float16)
            if not torch.isfinite(h).all():
                raise SystemExit(f"{k}: non-finite after float16 conversion")
            out[k] = h.contiguous()
        else:
            out[k] = v.clone()
    return out


@torch.no_grad()
def check(sd32, path):
    """Runs float32 and float16-exported weights (in float32 arithmetic) on a generated scene."""
    import segmentation_models_pytorch as smp
    import generate_scenes as gen
    torch.set_num_threads(2)
    scene = gen.generate_scene(5_000_999, 320, 320)
    x = torch.from_numpy(scene.image.astype(np.float32).transpose(2, 0, 1))[None]
    mean = torch.tensor(META["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(META["std"]).view(1, 3, 1, 1)
    preds = []
    for sd in (sd32, {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(path).items()}):
        m = smp.FPN(encoder_name="resnext50_32x4d", encoder_weights=None, classes=4)
        m.load_state_dict(sd)
        m.eval()
        preds.append(m((x - mean) / std)[0].argmax(0))
    agree = float((preds[0] == preds[1]).float().mean())
    print(f"float16 vs float32 argmax agreement on a 320x320 scene: {agree:.4%}")
    if agree < 0.995:
        raise SystemExit("float16 export changes the predictions too much")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--bias-offsets", metavar="JSON", help="written by calibrate_biases.py")
    a = ap.parse_args()
    sd32 = plain_state_dict(a.checkpoint)
    meta = dict(META)
    if a.bias_offsets:
        with open(a.bias_offsets) as f:
            offsets = json.load(f)["bias_offsets"]
        bias = sd32["segmentation_head.0.bias"]
        sd32["segmentation_head.0.bias"] = bias + torch.tensor(offsets, dtype=bias.dtype)
        meta["bias_offsets"] = offsets
        print(f"segmentation head bias offsets {offsets}")
    sd = dict(sd32)
    k = rescale_stem(sd)
    if k != 1:
        print(f"stem rescaled by 1/{k} (bn1.running_var max was {float(sd32['encoder.bn1.running_var'].max()):.4g})")
    tensors = to_f16(sd)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    save_file(tensors, a.out, metadata={"format": "pt", "geocam": json.dumps(meta)})
    size = os.path.getsize(a.out)
    print(f"wrote {a.out}: {len(tensors)} tensors, {size / 1e6:.1f} MB")
    if size > 60e6:
        raise SystemExit("file larger than 60 MB")
    if not a.no_check:
        check(sd32, a.out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks `geocam predict --raw-dir` against PyTorch on weights and inputs that are not in the
repository: smp FPN (resnext50_32x4d by default) in a PVModel Lightning-style checkpoint, and a
torchvision ResNet-50 classifier saved as a plain state dict.

    python Scripts/checks/compare_predict.py [--geocam .build/release/geocam] [--encoder resnext50_32x4d]

Weights are PyTorch's default initialisation with BN statistics calibrated on the image (so
activations keep their scale); the input is a random smooth image of 640x480 (two tiles wide,
padded). Prints max |delta| relative to max |logit| per class, against PyTorch float32 and, to
show how much of that is float32 rounding itself, both against a float64 evaluation of the same
model; exits 1 above 1e-4 against PyTorch float32.
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import segmentation_models_pytorch as smp
import torch
import torch.nn as nn
import torchvision

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def image(h, w, seed):
    r = np.random.default_rng(seed)
    small = r.integers(0, 256, (h // 16, w // 16, 3)).astype(np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img.astype(np.int16) + r.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)


def calibrate(model, x):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()


def run_geocam(geocam, img_path, ckpt, raw):
    subprocess.run([geocam, "predict", img_path, "--checkpoint", ckpt, "--raw-dir", raw, "--quiet"], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--geocam", default=".build/release/geocam")
    ap.add_argument("--encoder", default="resnext50_32x4d")
    args = ap.parse_args()
    torch.manual_seed(1)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        # FPN in a PVModel-style checkpoint (state_dict with model. prefix and mean/std buffers).
        fpn = smp.FPN(encoder_name=args.encoder, encoder_weights=None, classes=4)
        img = image(480, 640, 3)
        cv2.imwrite(os.path.join(tmp, "scene.png"), img[:, :, ::-1])
        x = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None]
        calibrate(fpn, (x[:, :, :320, :320] - MEAN) / STD)
        fpn64 = copy.deepcopy(fpn).double()
        sd = {"model." + k: v for k, v in fpn.state_dict().items()}
        sd = {"std": STD.clone(), "mean": MEAN.clone(), **sd}
        torch.save({"epoch": 3, "global_step": 10, "pytorch-lightning_version": "2.6.6", "state_dict": sd},
                   os.path.join(tmp, "fpn.ckpt"))
        run_geocam(args.geocam, os.path.join(tmp, "scene.png"), os.path.join(tmp, "fpn.ckpt"), os.path.join(tmp, "raw"))
        tiles = sorted(os.listdir(os.path.join(tmp, "raw")))
        for t in tiles:
            xs, ys = (int(v[1:]) for v in t.split("_"))
            tile = np.zeros((320, 320, 3), np.float32)
            part = img[ys:ys + 320, xs:xs + 320]
            tile[:part.shape[0], :part.shape[1]] = part
            valid = np.zeros((320, 320), bool)
            valid[:part.shape[0], :part.shape[1]] = True
            tile[~valid] = (MEAN.view(3).numpy())  # geocam fills invalid pixels with the mean
            xt = (torch.from_numpy(tile).permute(2, 0, 1)[None] - MEAN) / STD
            with torch.no_grad():
                ref = fpn(xt)[0].numpy()
                exact = fpn64(xt.double())[0].numpy()
            ours = np.load(os.path.join(tmp, "raw", t, "logits.npy"))
            for k in range(4):
                err = float(np.abs(ours[k] - ref[k]).max() / np.abs(ref[k]).max())
                ours64 = float(np.abs(ours[k] - exact[k]).max() / np.abs(exact[k]).max())
                torch64 = float(np.abs(ref[k] - exact[k]).max() / np.abs(exact[k]).max())
                worst = max(worst, err)
                print(f"FPN {args.encoder} tile {t} class {k}: vs torch f32 {err:.2e}; "
                      f"vs float64: geocam {ours64:.2e}, torch f32 {torch64:.2e}")
        # torchvision ResNet-50 classifier, plain state dict, 224x224 image.
        net = torchvision.models.resnet50(weights=None)
        cimg = image(224, 224, 4)
        cv2.imwrite(os.path.join(tmp, "photo.png"), cimg[:, :, ::-1])
        cx = torch.from_numpy(cimg.astype(np.float32)).permute(2, 0, 1)[None] / 255
        calibrate(net, (cx - MEAN) / STD)
        torch.save(net.state_dict(), os.path.join(tmp, "resnet50.pth"))
        run_geocam(args.geocam, os.path.join(tmp, "photo.png"), os.path.join(tmp, "resnet50.pth"), os.path.join(tmp, "craw"))
        with torch.no_grad():
            ref = net((cx - MEAN) / STD)[0].numpy()
        ours = np.load(os.path.join(tmp, "craw", "x0_y0", "logits.npy"))
        err = float(np.abs(ours - ref).max() / np.abs(ref).max())
        worst = max(worst, err)
        print(f"ResNet-50 classifier: max|d|/max|ref| = {err:.2e}, top-1 {ours.argmax()} vs {ref.argmax()}")
    print(f"worst {worst:.2e}")
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()

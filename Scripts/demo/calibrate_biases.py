#!/usr/bin/env python3
"""Fits per-class offsets for the demo model's output biases on held-out validation scenes.

Cross-entropy with class weights shifts the argmax threshold between background and the small
object classes; this step sets it back by adding one constant per class to the segmentation
head's bias (`segmentation_head.0.bias`), which is the same as a per-class threshold on the
logits. The offsets are fitted by coordinate descent on a grid (-4..4 in steps of 0.125,
background fixed at 0, three rounds) to maximise the mean pixel IoU of the three object classes
on N validation scenes of 640 x 640 px: seeds 5,000,000 + i (as `train_demo_model.py --eval`;
disjoint from the training scenes and from the demo tiles in Tiles/, which are never used here),
drawn with the demo tiles' scene parameters (`make_demo_tiles.DEMO_PARAMS`: denser objects and
more skylights than training) so that the thresholds are fitted to the kind of scene they serve.

    python Scripts/demo/calibrate_biases.py RUN/last.ckpt [--scenes 12] [--out RUN/bias_offsets.json]
    python Scripts/demo/export_checkpoint.py RUN/last.ckpt --bias-offsets RUN/bias_offsets.json

Pinned versions: Scripts/demo/requirements.txt.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate_scenes as gen  # noqa: E402
import train_demo_model as train  # noqa: E402
from make_demo_tiles import DEMO_PARAMS  # noqa: E402


def ious(logits, labels, offsets):
    """Pixel IoU of classes 1-3 for logits [4, P] (plus offsets) against labels [P]."""
    pred = (logits + offsets[:, None]).argmax(0)
    out = []
    for k in range(1, 4):
        p, t = pred == k, labels == k
        out.append(np.sum(p & t) / max(1, np.sum(p | t)))
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(2)
    module = train.load_module(a.checkpoint)
    logits, labels = [], []
    with torch.no_grad():
        for i in range(a.scenes):
            sc = gen.generate_scene(train.VAL_SEED_BASE + i, 640, 640, params=DEMO_PARAMS)
            x = torch.from_numpy(sc.image.astype(np.float32).transpose(2, 0, 1))[None]
            logits.append(module(x)[0].numpy())
            labels.append(sc.labels)
    logits = np.concatenate([lg.reshape(4, -1) for lg in logits], axis=1)
    labels = np.concatenate([lab.reshape(-1) for lab in labels])
    # Pixels that no offset in the grid can move off background (margin > 8 = 2 x grid range)
    # and that are background in truth count the same for every trial: drop them.
    keep = (labels > 0) | (logits[1:].max(0) - logits[0] > -8.5)
    logits, labels = logits[:, keep], labels[keep]
    offsets = np.zeros(4, np.float32)
    before = ious(logits, labels, offsets)
    grid = np.arange(-4, 4.0001, 0.125, dtype=np.float32)
    for _ in range(3):
        for k in (1, 2, 3):
            best, best_b = -1.0, offsets[k]
            for b in grid:
                trial = offsets.copy()
                trial[k] = b
                score = float(ious(logits, labels, trial).mean())
                if score > best + 1e-9:
                    best, best_b = score, b
            offsets[k] = best_b
    after = ious(logits, labels, offsets)
    names = train.CLASS_NAMES[1:]
    result = {
        "checkpoint": os.path.basename(a.checkpoint),
        "validation_scenes": f"{a.scenes} scenes of 640 x 640 px, seeds {train.VAL_SEED_BASE}+, DEMO_PARAMS",
        "bias_offsets": [float(v) for v in offsets],
        "iou_before": dict(zip(names, map(float, before))),
        "iou_after": dict(zip(names, map(float, after))),
    }
    print(json.dumps(result, indent=1))
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.checkpoint)), "bias_offsets.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Trains GeoCAM's demo model: smp FPN(resnext50_32x4d), 4 classes, from scratch, on CPU.

The model is trained "the seed's way" (the PVModel of the Cape Town rooftop-solar notebook):
a LightningModule holding the smp model as `model` plus `mean`/`std` buffers [1,3,1,1] with the
ImageNet statistics, fed RAW 0-255 RGB (it does not divide by 255: `(x - mean) / std`), trained
with cross-entropy (class weights in the `ce_loss.weight` buffer) and AdamW.

Data: procedural scenes from `generate_scenes.py`, regenerated from seeds on the fly (nothing is
stored). A pool of POOL_SIZE 640x640 scenes is kept; at step s the scene with seed
TRAIN_SEED_BASE + POOL_SIZE + s replaces the oldest one, and the 8 crops of 160x160 for step s are
drawn with np.random.default_rng([CROP_SEED, s]) (centred near an object, class-balanced, near a
confounder, or anywhere, in the shares of the step's stage below; random 90-degree rotations,
flips, brightness/contrast).
Training scene seeds are >= 10,000,000; the demo tiles use seeds below 1,000 and the validation
scenes of --eval use 5,000,000+, so the sets are disjoint.

Schedule (the STAGES table): four stages, STEPS = 7,500 steps in all; AdamW, weight decay 1e-4.
  stage 1 (steps 0-1,499): lr warm-up over 100 steps to 1e-3, then cosine to 2e-5; class weights
      1 / 1.5 / 3 / 1.5; crops 55% near an object, 20% near a confounder, 25% anywhere.
  stage 2 (steps 1,500-3,499): warm restart at 3e-4, cosine to 1e-5; class weights 1 / 1 / 1.25 / 1;
      crops 40% / 35% / 25%.
  stage 3 (steps 3,500-4,499): warm restart at 1.5e-4, cosine to 1e-5; half of the crops near a
      confounder are centred on a skylight (when the scene has one); otherwise as stage 2.
  stage 4 (steps 4,500-7,499): warm restart at 3e-4, cosine to 1e-5; class weights 1 / 1 / 2 / 1;
      crops as stage 3.
Why stage 2: after stage 1 (held-out pixel IoU PV 0.66, WH 0.27, PH 0.64) the errors were mostly
false positives: on 8 validation scenes more than half of the predicted object pixels were wrong,
mostly on vehicles and shade cloth, on object borders and on plain background (skylights and
vehicles were often taken for water heaters). The heavy class weights had bought recall at that
price, so stage 2 lowers them and shows the model more confounders at a smaller learning rate.
Stage 2 ended at validation IoU PV 0.66, WH 0.44, PH 0.68 and still rising; on scenes with more
skylights more than half of the predicted water-heater pixels were skylights, so stage 3 goes on
at a lower rate with more skylight crops. After stage 3 (scored on Tiles/ with calibrated
thresholds: IoU PV 0.69, WH 0.42, PH 0.78) water heaters were still found as round blobs inside
their rectangles or missed, and the scores were still rising by ~0.05 per 1,000 steps, so stage 4
trains longer at the stage-2 rate with more weight on water heaters. The per-class thresholds
are then refitted by `calibrate_biases.py`.

Seeds are fixed (torch, numpy, data); a run is resumable: a checkpoint (`last.ckpt`, a Lightning
checkpoint) is written atomically every 100 steps and at the end, and `--resume` continues from
it with the same step count and the same data stream.

Measured here (2 shared cores, `nice -n 19`, torch.set_num_threads(2)): ~1.3 s per step for
forward+backward+AdamW on an idle machine, ~0.25 s to draw the step's new scene, ~1.9 s per step
in all on a lightly loaded machine, so 1,500 steps take ~50 min and all 7,500 about four hours. At nice 19 the run only gets
what other jobs leave: with compilers and tests running beside it, 5-17 s per step were seen.
The log prints the running average and an ETA every 10 steps.

Usage:
  mkdir -p demo-train
  nice -n 19 nohup python Scripts/demo/train_demo_model.py --out demo-train > demo-train/train.log 2>&1 &
  ... --resume            # continue from OUT/last.ckpt after an interruption
  ... --eval OUT/last.ckpt  # pixel IoU per class + confounder hits on held-out validation scenes
Then: Scripts/demo/calibrate_biases.py OUT/last.ckpt (per-class thresholds, OUT/bias_offsets.json) and
Scripts/demo/export_checkpoint.py OUT/last.ckpt --bias-offsets OUT/bias_offsets.json (float16 safetensors).
Pinned versions: Scripts/demo/requirements.txt.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import pytorch_lightning as pl
import segmentation_models_pytorch as smp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate_scenes as gen  # noqa: E402

CLASS_NAMES = gen.CLASS_NAMES
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


@dataclass(frozen=True)
class Stage:
    """One stage of the schedule (see the module docstring for why each exists)."""
    first_step: int
    peak_lr: float         # warm restart value; stage 1 reaches it after WARMUP steps
    final_lr: float        # cosine end value at the next stage's first step (the last: at --steps)
    class_weights: tuple[float, float, float, float]  # cross-entropy weights: background, solar panel, water heater, pool heater
    near_object: float     # share of crops centred near an object (class-balanced)
    near_confounder: float  # share of crops centred near a confounder; the rest are anywhere
    skylight_share: float  # of the confounder crops, the share centred on a skylight


STAGES = (  # first step, peak lr, final lr, class weights, near object, near confounder, skylight share
    Stage(0, 1e-3, 2e-5, (1.0, 1.5, 3.0, 1.5), 0.55, 0.20, 0.0),
    Stage(1500, 3e-4, 1e-5, (1.0, 1.0, 1.25, 1.0), 0.40, 0.35, 0.0),
    Stage(3500, 1.5e-4, 1e-5, (1.0, 1.0, 1.25, 1.0), 0.40, 0.35, 0.5),
    Stage(4500, 3e-4, 1e-5, (1.0, 1.0, 2.0, 1.0), 0.40, 0.35, 0.5),
)
STEPS = 7500


def stage_at(step: int) -> int:
    """Index in STAGES of the stage that `step` belongs to."""
    return max(i for i, st in enumerate(STAGES) if st.first_step <= step)


BATCH = 8
CROP = 160
SCENE = 640
POOL_SIZE = 6
WARMUP = 100
CKPT_EVERY = int(os.environ.get("GEOCAM_CKPT_EVERY", 100))
TORCH_SEED = 1234
CROP_SEED = 4321
TRAIN_SEED_BASE = 10_000_000
VAL_SEED_BASE = 5_000_000


# ---------------------------------------------------------------------------------------------
# Model (the seed's PVModel layout)
# ---------------------------------------------------------------------------------------------

class PVModel(pl.LightningModule):
    def __init__(self, total_steps: int = STEPS):
        super().__init__()
        self.model = smp.FPN(encoder_name="resnext50_32x4d", encoder_weights=None, in_channels=3,
                             classes=len(CLASS_NAMES))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.ce_loss = nn.CrossEntropyLoss(weight=torch.tensor(STAGES[0].class_weights))
        self.total_steps = total_steps
        self.confusion = torch.zeros(4, 4, dtype=torch.long)  # running, reset each log interval
        self.last_loss = float("nan")

    def forward(self, image):
        # raw 0..255 pixels, normalised with 0..1 ImageNet statistics (no division by 255)
        return self.model((image - self.mean) / self.std)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.ce_loss.weight.copy_(torch.tensor(STAGES[stage_at(self.global_step)].class_weights))
        logits = self(x)
        loss = self.ce_loss(logits, y)
        with torch.no_grad():
            pred = logits.argmax(1)
            self.confusion += torch.bincount((y * 4 + pred).flatten(), minlength=16).view(4, 4)
        self.last_loss = float(loss.detach())
        return loss

    def configure_optimizers(self):
        base = STAGES[0].peak_lr
        opt = torch.optim.AdamW(self.parameters(), lr=base, weight_decay=1e-4)
        total = self.total_steps

        def lr_lambda(step):
            # stage 1 warms up linearly; every stage then anneals by a cosine from its peak to its
            # final rate, so later stages are warm restarts
            i = stage_at(step)
            st = STAGES[i]
            if i == 0 and step < WARMUP:
                return (step + 1) / WARMUP
            start = WARMUP if i == 0 else st.first_step
            end = STAGES[i + 1].first_step if i + 1 < len(STAGES) else total
            t = min(1.0, (step - start) / max(1, end - start))
            lo, hi = st.final_lr / base, st.peak_lr / base
            return lo + (hi - lo) * 0.5 * (1 + math.cos(math.pi * t))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


# ---------------------------------------------------------------------------------------------
# Data: a deterministic, step-indexed stream of batches
# ---------------------------------------------------------------------------------------------

def scene_for_event(t: int):
    return gen.generate_scene(TRAIN_SEED_BASE + POOL_SIZE + t, SCENE, SCENE)


def centres(scene):
    objs = {c: [o["polygon"].mean(0) for o in scene.objects if o["class"] == c] for c in (1, 2, 3)}
    conf = [c["polygon"].mean(0) for c in scene.confounders]
    sky = [c["polygon"].mean(0) for c in scene.confounders if c["type"] == "skylight"]
    return objs, conf, sky


def sample_batch(pool, step):
    """The batch for `step`: BATCH crops (float32 0..255 NCHW) and int64 labels."""
    rng = np.random.default_rng([CROP_SEED, step])
    st = STAGES[stage_at(step)]
    near_object, near_confounder = st.near_object, st.near_object + st.near_confounder
    xs, ys = [], []
    half = CROP // 2
    for _ in range(BATCH):
        scene, (objs, conf, sky) = pool[int(rng.integers(len(pool)))]
        u = rng.random()
        centre = None
        if u < near_object:
            present = [c for c in (1, 2, 3) if objs[c]]
            if present:
                c = present[int(rng.integers(len(present)))]
                centre = objs[c][int(rng.integers(len(objs[c])))] + rng.normal(0, 30, 2)
        elif u < near_confounder and conf:
            if st.skylight_share > 0 and sky and rng.random() < st.skylight_share:
                centre = sky[int(rng.integers(len(sky)))] + rng.normal(0, 30, 2)
            else:
                centre = conf[int(rng.integers(len(conf)))] + rng.normal(0, 30, 2)
        if centre is None:
            centre = rng.uniform(half, SCENE - half, 2)
        cx = int(np.clip(round(centre[0]), half, SCENE - half))
        cy = int(np.clip(round(centre[1]), half, SCENE - half))
        img = scene.image[cy - half:cy + half, cx - half:cx + half].astype(np.float32)
        lab = scene.labels[cy - half:cy + half, cx - half:cx + half]
        k = int(rng.integers(4))
        img, lab = np.rot90(img, k), np.rot90(lab, k)
        if rng.random() < 0.5:
            img, lab = img[:, ::-1], lab[:, ::-1]
        img = img * rng.uniform(0.85, 1.15) + rng.uniform(-12, 12)
        img = np.clip(img, 0, 255)
        xs.append(np.ascontiguousarray(img.transpose(2, 0, 1)))
        ys.append(np.ascontiguousarray(lab))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys).astype(np.int64))


class SceneStream(torch.utils.data.IterableDataset):
    """Yields the batches for steps start_step, start_step + 1, ... (generated in-process)."""

    def __init__(self, start_step: int):
        self.start_step = start_step

    def __iter__(self):
        s = self.start_step
        pool = {}
        for t in range(s - POOL_SIZE + 1, s):
            sc = scene_for_event(t)
            pool[t % POOL_SIZE] = (sc, centres(sc))
        while True:
            sc = scene_for_event(s)
            pool[s % POOL_SIZE] = (sc, centres(sc))
            yield sample_batch([pool[k] for k in sorted(pool)], s)
            s += 1


# ---------------------------------------------------------------------------------------------
# Checkpointing and logging
# ---------------------------------------------------------------------------------------------

class Progress(pl.Callback):
    """Atomic last.ckpt every CKPT_EVERY steps and at the end; a log line every 10 steps."""

    def __init__(self, out, total):
        self.out, self.total = out, total
        self.t0 = self.tl = time.time()
        self.s0 = None

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        step = trainer.global_step
        if self.s0 is None:
            self.s0 = step - 1
        if step % 10 == 0 or step == self.total:
            cm = module.confusion.double()
            iou = [float(cm[c, c] / max(1.0, cm[c].sum() + cm[:, c].sum() - cm[c, c])) for c in range(4)]
            now = time.time()
            per = (now - self.t0) / max(1, step - self.s0)
            lr = trainer.optimizers[0].param_groups[0]["lr"]
            print(f"step {step}/{self.total} loss {module.last_loss:.4f} lr {lr:.2e} "
                  f"iou(train, last 10) bg {iou[0]:.3f} pv {iou[1]:.3f} wh {iou[2]:.3f} ph {iou[3]:.3f} "
                  f"{now - self.tl:.1f}s/10 steps, avg {per:.2f}s/step, ETA {per * (self.total - step) / 60:.1f} min",
                  flush=True)
            module.confusion.zero_()
            self.tl = now
        if step % CKPT_EVERY == 0 or step == self.total:
            self.save(trainer)

    def save(self, trainer):
        tmp = os.path.join(self.out, "last.ckpt.tmp")
        trainer.save_checkpoint(tmp)
        os.replace(tmp, os.path.join(self.out, "last.ckpt"))
        print(f"checkpoint: {self.out}/last.ckpt at step {trainer.global_step}", flush=True)


def train(out, steps, resume):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    pl.seed_everything(TORCH_SEED, workers=True)
    ckpt = os.path.join(out, "last.ckpt")
    start = 0
    if resume and os.path.exists(ckpt):
        start = int(torch.load(ckpt, map_location="cpu", weights_only=False)["global_step"])
        print(f"resuming from {ckpt} at step {start}", flush=True)
        torch.manual_seed(TORCH_SEED + start)  # dropout stream after a resume
    elif resume:
        print("no checkpoint to resume from; starting at step 0", flush=True)
    module = PVModel(total_steps=steps)
    loader = torch.utils.data.DataLoader(SceneStream(start), batch_size=None, num_workers=0)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=steps, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, limit_val_batches=0, callbacks=[Progress(out, steps)])
    print(f"torch {torch.__version__} smp {smp.__version__} lightning {pl.__version__} numpy {np.__version__}; "
          f"threads {torch.get_num_threads()}; steps {steps} batch {BATCH} crop {CROP}", flush=True)
    t = time.time()
    trainer.fit(module, loader, ckpt_path=ckpt if (resume and os.path.exists(ckpt)) else None)
    print(f"done: {trainer.global_step} steps, this session {(time.time() - t) / 60:.1f} min", flush=True)


# ---------------------------------------------------------------------------------------------
# Evaluation on held-out validation scenes
# ---------------------------------------------------------------------------------------------

def load_module(path):
    module = PVModel()
    sd = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
    module.load_state_dict(sd)
    return module.eval()


@torch.no_grad()
def predict(module, image):
    """Class map of an HxWx3 uint8 image (H, W multiples of 32), whole-scene inference."""
    x = torch.from_numpy(image.astype(np.float32).transpose(2, 0, 1))[None]
    return module(x)[0].argmax(0).numpy().astype(np.uint8)


def evaluate(path, n, size=640):
    torch.set_num_threads(2)
    module = load_module(path)
    cm = np.zeros((4, 4), np.int64)
    hits = {t: [0, 0] for t in gen.CONFOUNDER_TYPES}
    import cv2
    for i in range(n):
        sc = gen.generate_scene(VAL_SEED_BASE + i, size, size)
        pred = predict(module, sc.image)
        cm += np.bincount(sc.labels.astype(np.int64).ravel() * 4 + pred.ravel(), minlength=16).reshape(4, 4)
        for c in sc.confounders:
            m = np.zeros(pred.shape, np.uint8)
            cv2.fillPoly(m, [np.round(c["polygon"]).astype(np.int32)], 1)
            hit = ((pred > 0) & (m > 0)).sum() >= 20
            hits[c["type"]][0] += int(hit)
            hits[c["type"]][1] += 1
    iou = [cm[c, c] / max(1, cm[c].sum() + cm[:, c].sum() - cm[c, c]) for c in range(4)]
    print(f"{path}: {n} validation scenes of {size}px")
    print("pixel IoU " + " ".join(f"{CLASS_NAMES[c]} {iou[c]:.3f}" for c in range(4)))
    print("confounders with >=20 px predicted as a class: " +
          ", ".join(f"{t} {h}/{k}" for t, (h, k) in hits.items()))
    print("confusion (rows truth, cols pred):\n", cm)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="demo-train", help="run folder (last.ckpt, written every 100 steps)")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--eval", metavar="CKPT")
    ap.add_argument("--eval-scenes", type=int, default=8)
    a = ap.parse_args()
    if a.eval:
        evaluate(a.eval, a.eval_scenes)
    else:
        train(a.out, a.steps, a.resume)


if __name__ == "__main__":
    main()

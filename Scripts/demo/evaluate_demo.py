#!/usr/bin/env python3
"""Scores the demo checkpoint with geocam's own class map on the held-out scenes in Tiles/.

    python Scripts/demo/evaluate_demo.py [--geocam .build/release/geocam] [--checkpoint CKPT] [--out DIR]

For each scene `Tiles/<name>.tif` it runs `geocam predict <scene> --output DIR/<name>.tif`
(tiles of 320 blended over 64 px of overlap, as `geocam explain` runs), then compares
`DIR/<name>.classes.tif` with `Tiles/<name>-labels.tif` and the polygons of
`Tiles/<name>-truth.gpkg`:
- pixel IoU per class (intersection / union of pixel counts, summed over the scenes of a group:
  the evaluation scenes `demo-eval-*`, the main scene `demo-main`, and all of them);
- objects found: an object counts when >= 25 % of its pixels get its class;
- confounders taken for a class: a confounder counts when >= 25 % of its pixels (at least
  20 px) get one class other than background; reported per confounder type with the classes.
Prints a Markdown table and writes DIR/scores.json. Pinned stack: Scripts/demo/requirements.txt.
"""
import argparse
import glob
import json
import os
import subprocess

import numpy as np
import rasterio
import rasterio.features
import shapely
from pyogrio import raw

NAMES = ["background", "solar_panel", "water_heater", "pool_heater"]


def polygons(gpkg, layer, field):
    meta, _, geoms, fields = raw.read(gpkg, layer=layer)
    values = fields[list(meta["fields"]).index(field)]
    return [(shapely.from_wkb(g), v) for g, v in zip(geoms, values)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--geocam", default=".build/release/geocam")
    ap.add_argument("--checkpoint", default="Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors")
    ap.add_argument("--out", default="demo-out/eval")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    groups = ("demo-eval", "demo-main", "all")
    inter = {g: np.zeros(4) for g in groups}
    union = {g: np.zeros(4) for g in groups}
    found = {g: {k: [0, 0] for k in NAMES[1:]} for g in groups}
    confusions = {}
    per_scene = {}
    for scene in sorted(glob.glob("Tiles/demo-*.tif")):
        if scene.endswith("-labels.tif"):
            continue
        name = os.path.basename(scene)[:-4]
        in_groups = ("demo-main" if name == "demo-main" else "demo-eval", "all")
        out = os.path.join(args.out, name + ".tif")
        subprocess.run([args.geocam, "predict", scene, "--checkpoint", args.checkpoint, "--output", out, "--quiet"],
                       check=True)
        with rasterio.open(out[:-4] + ".classes.tif") as p, rasterio.open(f"Tiles/{name}-labels.tif") as t:
            pred, truth, transform = p.read(1), t.read(1), t.transform
        scene_iou = {}
        for k in range(1, 4):
            i = np.sum((pred == k) & (truth == k))
            u = np.sum((pred == k) | (truth == k))
            for g in in_groups:
                inter[g][k] += i
                union[g][k] += u
            scene_iou[NAMES[k]] = float(i / u) if u else None
        per_scene[name] = scene_iou
        gpkg = f"Tiles/{name}-truth.gpkg"
        for geom, cls in polygons(gpkg, "objects", "class"):
            m = rasterio.features.rasterize([(geom, 1)], out_shape=pred.shape, transform=transform, dtype="uint8") > 0
            if m.sum() == 0:
                continue
            hit = np.mean(pred[m] == cls) >= 0.25
            for g in in_groups:
                found[g][NAMES[cls]][1] += 1
                found[g][NAMES[cls]][0] += int(hit)
        for geom, kind in polygons(gpkg, "confounders", "type"):
            m = rasterio.features.rasterize([(geom, 1)], out_shape=pred.shape, transform=transform, dtype="uint8") > 0
            if m.sum() == 0:
                continue
            entry = confusions.setdefault(kind, {"count": 0, "taken": 0, "as": {}, "in": {}})
            entry["count"] += 1
            counts = np.bincount(pred[m], minlength=4)
            k = int(np.argmax(counts[1:]) + 1)
            if counts[k] >= max(20, 0.25 * m.sum()):
                entry["taken"] += 1
                entry["as"][NAMES[k]] = entry["as"].get(NAMES[k], 0) + 1
                entry["in"][name] = entry["in"].get(name, 0) + 1
    iou = {g: {NAMES[k]: float(inter[g][k] / union[g][k]) if union[g][k] else None for k in range(1, 4)}
           for g in groups}
    scores = {"pixel_iou": iou, "objects_found": found, "confounders": confusions, "per_scene_iou": per_scene}
    with open(os.path.join(args.out, "scores.json"), "w") as f:
        json.dump(scores, f, indent=1)
    print("| scenes | " + " | ".join(f"{k} IoU" for k in NAMES[1:]) + " | objects found (pv / wh / ph) |")
    print("|---|---|---|---|---|")
    for g in groups:
        objs = " / ".join(f"{found[g][k][0]} of {found[g][k][1]}" for k in NAMES[1:])
        print(f"| {g} | " + " | ".join(f"{iou[g][k]:.3f}" for k in NAMES[1:]) + f" | {objs} |")
    print("\n| confounder | count | taken for a class | as | where (scene: count) |\n|---|---|---|---|---|")
    for kind, e in sorted(confusions.items()):
        rate = e["taken"] / e["count"] if e["count"] else 0
        where = ", ".join(f"{n}: {c}" for n, c in sorted(e["in"].items()))
        print(f"| {kind} | {e['count']} | {e['taken']} ({rate:.0%}) | {e['as']} | {where} |")


if __name__ == "__main__":
    main()

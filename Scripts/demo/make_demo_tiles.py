#!/usr/bin/env python3
"""Writes GeoCAM's held-out demo scenes into Tiles/ as georeferenced GeoTIFFs + ground truth.

Scenes come from `generate_scenes.py` with seeds below 1,000, disjoint from the training seeds
(>= 10,000,000) and the validation seeds of `train_demo_model.py --eval` (5,000,000+). They use
denser demo parameters than training (`DEMO_PARAMS`: more pools, pool heaters, water heaters and
confounders per house) so that a few scenes hold >= 30 objects of each class and >= 10
confounders of each type; appearance and sizes are the same as in training.

For each scene NAME (see SCENES) it writes:
  Tiles/NAME.tif          RGB uint8, 3 bands, tiled 256x256, DEFLATE + horizontal predictor
  Tiles/NAME-labels.tif   class raster, Byte, same grid (0 background, 1 solar panel,
                          2 water heater, 3 pool heater), with a colour table
  Tiles/NAME-truth.gpkg   layer `objects` (class, class_name, area_m2) and layer
                          `confounders` (type, area_m2): polygons clipped to the scene
and Tiles/README.md with the CRS, seeds and counts.

CRS: City of Cape Town's "Lo19" family: Transverse Mercator, central meridian 19 E, WGS 84,
scale 1, no false easting/northing, x east / y north, written as a custom WKT without an EPSG code
(LO19_WKT below). Scenes lie at plausible suburban coordinates (x ~ -52,000 m, y ~ -3,771,000 m),
pixel size 0.08 m, north-up.

Usage: python Scripts/demo/make_demo_tiles.py [--out Tiles]
Pinned versions: Scripts/demo/requirements.txt (rasterio 1.4.4, pyogrio 0.13.0, shapely 2.2.0).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine
import pyogrio.raw
import shapely

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate_scenes as gen  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LO19_WKT = (
    'PROJCS["WGS 84 / Lo19 (Cape Town TM 19E, x east, y north)",'
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",19],'
    'PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],'
    'UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
)
GSD = gen.GSD_M

DEMO_PARAMS = gen.Params(p_pv=0.55, p_wh=0.65, p_pool=0.8, p_ph=1.0, p_skylight=0.45, p_patch=0.6,
                         p_car=0.5, p_street_car=0.25, p_shade=0.55, difficulty=0.35)

# name, seed, size (px), rotation (deg), upper-left corner (x, y) in metres
SCENES = [
    ("demo-main", 101, 1600, 18.0, (-52000.0, -3771000.0)),
    ("demo-eval-1", 201, 1280, 0.0, (-51700.0, -3771000.0)),
    ("demo-eval-2", 202, 1280, 41.0, (-51700.0, -3771250.0)),
    ("demo-eval-3", 203, 1280, 67.0, (-52000.0, -3771250.0)),
    ("demo-eval-4", 204, 1280, 9.0, (-52300.0, -3771250.0)),
]

LABEL_COLOURS = {0: (0, 0, 0, 0), 1: (255, 200, 0, 255), 2: (0, 220, 255, 255), 3: (230, 0, 200, 255)}


def to_geo(poly_px, x0, y0):
    """Pixel-corner coordinates (x right, y down) to Lo19 metres (x east, y north)."""
    return np.stack([x0 + poly_px[:, 0] * GSD, y0 - poly_px[:, 1] * GSD], axis=1)


def write_scene(out, name, seed, size, angle, origin):
    scene = gen.generate_scene(seed, size, size, angle_deg=angle, params=DEMO_PARAMS)
    x0, y0 = origin
    transform = Affine(GSD, 0.0, x0, 0.0, -GSD, y0)
    crs = CRS.from_wkt(LO19_WKT)
    common = dict(driver="GTiff", width=size, height=size, crs=crs, transform=transform, tiled=True,
                  blockxsize=256, blockysize=256, compress="deflate", predictor=2, zlevel=9)
    rgb_path = os.path.join(out, f"{name}.tif")
    with rasterio.open(rgb_path, "w", count=3, dtype="uint8", photometric="RGB", interleave="pixel",
                       **common) as dst:
        dst.write(scene.image.transpose(2, 0, 1))
        dst.descriptions = ("red", "green", "blue")
        dst.update_tags(generator="Scripts/demo/generate_scenes.py", seed=str(seed), angle_deg=str(angle),
                        gsd_m=str(GSD))
    lab_path = os.path.join(out, f"{name}-labels.tif")
    with rasterio.open(lab_path, "w", count=1, dtype="uint8", **common) as dst:
        dst.write(scene.labels[None])
        dst.write_colormap(1, LABEL_COLOURS)
        dst.descriptions = ("class",)
        dst.update_tags(classes=json.dumps(gen.CLASS_NAMES), seed=str(seed))
    gpkg = os.path.join(out, f"{name}-truth.gpkg")
    if os.path.exists(gpkg):
        os.remove(gpkg)
    objs = [o for o in scene.objects]
    geoms = np.array([shapely.to_wkb(shapely.Polygon(to_geo(o["polygon"], x0, y0))) for o in objs], dtype=object)
    pyogrio.raw.write(gpkg, geoms,
                      field_data=[np.array([o["class"] for o in objs], np.int32),
                                  np.array([o["class_name"] for o in objs], object),
                                  np.array([gen.poly_area(o["polygon"]) * GSD * GSD for o in objs], np.float64)],
                      fields=["class", "class_name", "area_m2"], layer="objects", driver="GPKG",
                      geometry_type="Polygon", crs=LO19_WKT)
    confs = scene.confounders
    geoms = np.array([shapely.to_wkb(shapely.Polygon(to_geo(c["polygon"], x0, y0))) for c in confs], dtype=object)
    pyogrio.raw.write(gpkg, geoms,
                      field_data=[np.array([c["type"] for c in confs], object),
                                  np.array([gen.poly_area(c["polygon"]) * GSD * GSD for c in confs], np.float64)],
                      fields=["type", "area_m2"], layer="confounders", driver="GPKG",
                      geometry_type="Polygon", crs=LO19_WKT, append=True)
    counts = {n: sum(o["class"] == i for o in objs) for i, n in enumerate(gen.CLASS_NAMES) if i}
    conf = {t: sum(c["type"] == t for c in confs) for t in gen.CONFOUNDER_TYPES}
    pix = np.bincount(scene.labels.ravel(), minlength=4)
    return dict(name=name, seed=seed, size=size, angle=angle, origin=origin, objects=counts, confounders=conf,
                pixels=pix.tolist(), files=[rgb_path, lab_path, gpkg])


def readme(out, rows):
    tot_o = {n: sum(r["objects"][n] for r in rows) for n in gen.CLASS_NAMES[1:]}
    tot_c = {t: sum(r["confounders"][t] for r in rows) for t in gen.CONFOUNDER_TYPES}
    sizes = {r["name"]: sum(os.path.getsize(f) for f in r["files"]) for r in rows}
    lines = [
        "# Demo tiles (synthetic, held out)",
        "",
        "Procedurally generated Cape Town-like suburban scenes for GeoCAM's README and for scoring the",
        "demo checkpoint (`Checkpoints/`). **They are synthetic**: drawn by",
        "`Scripts/demo/generate_scenes.py` (roofs, streets, trees, pools; solar panels, water heaters,",
        "pool heaters; unlabelled look-alike confounders) and written by `Scripts/demo/make_demo_tiles.py`.",
        "Their seeds (below 1,000) are disjoint from the training seeds (>= 10,000,000) and the validation",
        "seeds (>= 5,000,000) of `Scripts/demo/train_demo_model.py`. Rebuild with",
        "`python Scripts/demo/make_demo_tiles.py` (pinned versions in",
        "`Scripts/demo/requirements.txt`); the rasters come out byte-identical, the GeoPackages differ only in timestamps.",
        "",
        "## Files",
        "",
        "| scene | seed | size (px) | street grid rotated | upper-left x, y (m) | files (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| `{r['name']}` | {r['seed']} | {r['size']} x {r['size']} | {r['angle']:g} deg | "
                     f"{r['origin'][0]:.0f}, {r['origin'][1]:.0f} | {sizes[r['name']] / 1e6:.1f} |")
    lines += [
        "",
        "Per scene `NAME`:",
        "- `NAME.tif`: RGB, 3 x uint8, 8 cm pixels, tiled 256 x 256, DEFLATE with horizontal predictor.",
        "- `NAME-labels.tif`: class raster on the same grid, Byte: 0 background, 1 solar panel,",
        "  2 water heater, 3 pool heater (with a colour table). Objects are labelled over their whole",
        "  outline (trees never cover them, shadows may; pool heater strips include the gaps between them).",
        "- `NAME-truth.gpkg`: GeoPackage with layer `objects` (`class` 1-3, `class_name`, `area_m2`) and",
        "  layer `confounders` (`type`: skylight, dark_roof_patch, vehicle, shade_cloth; `area_m2`):",
        "  look-alikes that are **not** labelled in the raster, for auditing false positives. Polygons are",
        "  clipped to the scene; objects cut by the edge keep their visible part.",
        "",
        "`demo-main` is the README's scene (about 128 m x 128 m); the `demo-eval-*` scenes are for scoring.",
        "",
        "## CRS",
        "",
        "City of Cape Town's \"Lo19\" family (the aerial sheets' CRS): Transverse Mercator, central",
        "meridian 19 deg E, WGS 84, scale 1, no false easting/northing, axes x east / y north, so",
        "coordinates are negative. There is **no EPSG code** for the projected CRS; the files carry this",
        "custom WKT (GDAL reports it re-formatted, with EPSG codes only on the WGS 84 datum parts):",
        "",
        "```",
        LO19_WKT,
        "```",
        "",
        "Pixel size 0.08 m, north-up; the scenes sit at plausible suburban coordinates",
        "(x around -52,000 m, y around -3,771,000 m) but show no real place.",
        "",
        "## Counts",
        "",
        "| scene | solar_panel | water_heater | pool_heater | skylight | dark_roof_patch | vehicle | shade_cloth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, c = r["objects"], r["confounders"]
        lines.append(f"| `{r['name']}` | " + " | ".join(str(o[n]) for n in gen.CLASS_NAMES[1:]) + " | "
                     + " | ".join(str(c[t]) for t in gen.CONFOUNDER_TYPES) + " |")
    lines.append("| **total** | " + " | ".join(f"**{tot_o[n]}**" for n in gen.CLASS_NAMES[1:]) + " | "
                 + " | ".join(f"**{tot_c[t]}**" for t in gen.CONFOUNDER_TYPES) + " |")
    lines += [
        "",
        "Counts are polygons in the GeoPackages (objects at a scene edge count once, clipped).",
        "Densities are deliberately about ten times the real ones (the annotated Cape Town suburbs hold a",
        "median of ~350 labelled systems per km^2); object sizes follow the real p10/median/p90 per class.",
        f"All of `Tiles/` takes {sum(sizes.values()) / 1e6:.1f} MB.",
        "",
    ]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines))
    return tot_o, tot_c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "Tiles"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = []
    for name, seed, size, angle, origin in SCENES:
        r = write_scene(a.out, name, seed, size, angle, origin)
        print(f"{name}: objects {r['objects']} confounders {r['confounders']}")
        rows.append(r)
    tot_o, tot_c = readme(a.out, rows)
    print("total objects", tot_o, "confounders", tot_c)


if __name__ == "__main__":
    main()

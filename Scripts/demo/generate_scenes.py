#!/usr/bin/env python3
"""Procedural aerial scenes of Cape Town-like suburbs for GeoCAM's demo model and demo tiles.

Why: GeoCAM's README must show a real model explaining real-looking detections, but no Cape Town
orthophoto or solar-panel checkpoint can ship with the repository. This module draws synthetic
suburban blocks, seeded and fully reproducible, that the demo model is trained on
(`train_demo_model.py`, scenes regenerated from seeds, nothing stored) and that the held-out demo
tiles are cut from (`make_demo_tiles.py`, disjoint seeds).

What it draws (top-down RGB at 8 cm/pixel, i.e. 12.5 px per metre, like the City of Cape Town's
2023 aerial sheets; figures from `docs/cape_town_facts.md` where the facts file has them):
  * a street grid (asphalt, kerbs, sidewalks/verges) around blocks of two rows of parcels
    (14-22 m wide, 26-34 m deep) with boundary walls, lawns / dry grass / paving and driveways;
  * one house per parcel (sometimes with a wing: an L-shaped footprint) with a gable, hip or flat
    roof in corrugated/IBR sheeting, clay or concrete tiles, or flat membrane/concrete, in varied
    colours; each roof facet is shaded by its pitch against the sun (sun in the north, as in the
    southern hemisphere; elevation 58-75 deg), houses and trees cast shadows;
  * swimming pools (rounded rectangles or ovals with coping) in some back yards, trees with
    shadows (canopies never cover labelled objects; their shadows may);
  * LABELLED objects (class raster value in brackets):
      - solar panels [1]: PV arrays of 1.0 x 1.7 m modules (12-13 x 21 px), dark blue (poly) or
        blue-black (mono), module frames, a faint cell grid and a sky-reflection gradient; array
        area log-normal with the real p10/median/p90 of 2.9/9.6/28.4 m^2; about a quarter are
        partly shaded (tree or structure shadow), the label still covers the whole array;
      - water heaters [2]: solar water heaters (flat-plate or evacuated-tube collector with a
        white/grey cylindrical tank at the upslope end) or a bare tank; area log-normal with
        p10/median/p90 1.0/1.9/4.0 m^2 (median ~300 px, ~17 x 17 px);
      - pool heaters [3]: matte black polypropylene mat strips (1.2 m wide, fine tube lines,
        grey headers) on the roof facet nearest to the house's pool; area p10/median/p90
        6.6/13.9/26.8 m^2; only houses with a pool get one;
    PV and water heaters prefer north-facing facets (southern hemisphere).
  * typed CONFOUNDERS, never labelled (raster 0), kept as their own polygon layer:
      - skylight: small bright/glassy squares (0.5-1.3 m), dome, clear or dark glass with a glint;
      - dark_roof_patch: bitumen repairs, re-painted or replaced dark sections of a roof,
        PV-sized, keeping the roof texture;
      - vehicle: cars and bakkies on driveways and streets (incl. dark blue and black ones);
      - shade_cloth: carports and patios covered with black, charcoal, green or beige shade net,
        with sewn seams and corner posts.
    `difficulty` (0..1) sets the share of "hard" confounders that mimic a class closely (white
    cylinder-like skylights ~ water heaters, dark patches with a blue tint and faint seams ~ PV,
    black seamed shade cloth next to pools ~ pool heaters, black/navy cars ~ PV). The default 0.35
    lets a model learn the classes yet still produce some false positives to audit.

Densities: the real annotated suburbs hold a median of ~350 labelled systems per km^2 (~3.5 per
hectare). The demo is deliberately ~10x denser (roughly half the houses carry PV, half a water
heater, most pool owners a pool heater), otherwise a 128 m x 128 m demo scene would show five
objects. This is stated wherever counts are reported.

Output of `generate_scene(seed, height, width, ...)`: a `Scene` with
  image   (H, W, 3) uint8 RGB,
  labels  (H, W) uint8: 0 background, 1 solar panel, 2 water heater, 3 pool heater,
  objects      [{"class": int, "class_name": str, "polygon": (N, 2) float pixel x/y}],
  confounders  [{"type": str, "polygon": (N, 2) float pixel x/y}],
polygons in pixel coordinates (x right, y down, pixel corners at integers), clipped to the frame.
The layout is drawn axis-aligned on a larger canvas, then rotated by `angle_deg` and cropped,
so streets and roofs take any orientation.

CLI preview (writes PNGs): python generate_scenes.py --seed 7 --size 800 --out /tmp/preview
Pinned versions: Scripts/demo/requirements.txt (numpy 2.4.6, opencv-python-headless 5.0.0.93).
"""
from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

CLASS_NAMES = ["background", "solar_panel", "water_heater", "pool_heater"]
CONFOUNDER_TYPES = ["skylight", "dark_roof_patch", "vehicle", "shade_cloth"]
GSD_M = 0.08
PX = 1.0 / GSD_M  # pixels per metre (12.5)


def m2px(metres: float) -> float:
    return metres * PX


def lognormal_area(rng, median, p10, p90, lo, hi):
    """Samples an area (m^2) from a log-normal matching the real median and p10/p90."""
    sigma = 0.5 * (math.log(median / p10) + math.log(p90 / median)) / 1.2816
    return float(np.clip(math.exp(math.log(median) + sigma * rng.standard_normal()), lo, hi))


# ---------------------------------------------------------------------------------------------
# Small drawing helpers. The canvas is float32 RGB 0..255; rectangles are (x0, y0, x1, y1) ints,
# half-open, in canvas pixels.
# ---------------------------------------------------------------------------------------------

def noise(rng, h, w, cell, octaves=1):
    """Smooth value noise, zero mean, roughly unit std, features of `cell` px."""
    h, w = max(int(h), 1), max(int(w), 1)
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        c = max(float(cell), 1.0)
        gh, gw = int(h / c) + 3, int(w / c) + 3
        g = rng.standard_normal((gh, gw)).astype(np.float32)
        up = cv2.resize(g, (int(math.ceil(gw * c)), int(math.ceil(gh * c))), interpolation=cv2.INTER_CUBIC)
        oy, ox = rng.integers(0, max(1, up.shape[0] - h)), rng.integers(0, max(1, up.shape[1] - w))
        out += amp * up[oy:oy + h, ox:ox + w]
        total += amp * amp
        amp *= 0.5
        cell = cell / 2.0
    return out / math.sqrt(total)


def clip_rect(r, shape):
    h, w = shape[:2]
    x0, y0, x1, y1 = r
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def fill(canvas, r, color, rng=None, tex=0.0, cell=3.0):
    """Fills a rectangle with a colour plus optional noise texture of amplitude `tex`."""
    x0, y0, x1, y1 = clip_rect(r, canvas.shape)
    if x1 <= x0 or y1 <= y0:
        return
    patch = np.empty((y1 - y0, x1 - x0, 3), np.float32)
    patch[:] = color
    if tex and rng is not None:
        patch += tex * noise(rng, y1 - y0, x1 - x0, cell)[..., None]
    canvas[y0:y1, x0:x1] = patch


def composite(canvas, x0, y0, rgb, alpha):
    """Alpha-blends patch `rgb` (h, w, 3) with `alpha` (h, w) in 0..1 at (x0, y0), clipped."""
    h, w = alpha.shape
    cx0, cy0, cx1, cy1 = clip_rect((x0, y0, x0 + w, y0 + h), canvas.shape)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    a = alpha[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0, None]
    src = rgb[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
    dst = canvas[cy0:cy1, cx0:cx1]
    canvas[cy0:cy1, cx0:cx1] = dst * (1 - a) + src * a


def darken(canvas, x0, y0, mask, factor):
    """Multiplies the canvas under `mask` (h, w, 0..1) by `factor` (shadow)."""
    h, w = mask.shape
    cx0, cy0, cx1, cy1 = clip_rect((x0, y0, x0 + w, y0 + h), canvas.shape)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    m = mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0, None]
    canvas[cy0:cy1, cx0:cx1] *= 1 - m * (1 - factor)


def rounded_rect_mask(h, w, radius):
    m = np.zeros((h, w), np.uint8)
    r = int(max(0, min(radius, h // 2, w // 2)))
    cv2.rectangle(m, (r, 0), (w - 1 - r, h - 1), 1, -1)
    cv2.rectangle(m, (0, r), (w - 1, h - 1 - r), 1, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(m, (cx, cy), r, 1, -1)
    return m.astype(np.float32)


def rect_poly(r):
    x0, y0, x1, y1 = r
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def clip_poly(poly, w, h):
    """Sutherland-Hodgman clip of a convex polygon to the frame [0, w] x [0, h]."""
    def clip(pts, inside, inter):
        out = []
        for i in range(len(pts)):
            cur, prev = pts[i], pts[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(inter(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(inter(prev, cur))
        return out

    def ix(x):
        return lambda p, q: (x, p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0]))

    def iy(y):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]), y)

    pts = [tuple(p) for p in poly]
    for inside, inter in ((lambda p: p[0] >= 0, ix(0.0)), (lambda p: p[0] <= w, ix(float(w))),
                          (lambda p: p[1] >= 0, iy(0.0)), (lambda p: p[1] <= h, iy(float(h)))):
        if not pts:
            break
        pts = clip(pts, inside, inter)
    return np.array(pts, np.float64).reshape(-1, 2)


def poly_area(p):
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


# ---------------------------------------------------------------------------------------------
# Palettes
# ---------------------------------------------------------------------------------------------

ROOF_MATERIALS = {
    # name: (weight, list of base colours RGB)
    "sheet": (0.30, [(150, 155, 158), (95, 100, 104), (70, 72, 76), (60, 95, 70), (130, 60, 45),
                     (190, 185, 170), (120, 125, 130), (45, 75, 95)]),
    "clay_tile": (0.22, [(170, 85, 55), (150, 70, 50), (185, 110, 75), (120, 60, 45)]),
    "concrete_tile": (0.30, [(90, 90, 92), (60, 60, 64), (110, 80, 65), (75, 55, 50), (140, 135, 125),
                             (50, 52, 58), (105, 70, 55)]),
    "flat": (0.18, [(175, 172, 165), (200, 198, 190), (150, 148, 140), (120, 115, 108), (215, 212, 205)]),
}
CAR_COLOURS = [((235, 235, 235), 0.28), ((175, 178, 182), 0.18), ((110, 112, 116), 0.12), ((28, 28, 32), 0.14),
               ((30, 40, 80), 0.08), ((150, 30, 30), 0.08), ((60, 90, 140), 0.05), ((200, 190, 160), 0.04),
               ((60, 70, 60), 0.03)]


def pick(rng, items, weights=None):
    if weights is None:
        return items[int(rng.integers(len(items)))]
    w = np.asarray(weights, np.float64)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def jitter(rng, c, amount=12):
    """Varies a colour mostly in brightness, a little in hue (independent channels look fake)."""
    s = rng.normal(1.0, amount / 150.0)
    return tuple(float(np.clip(v * s + rng.normal(0, amount * 0.3), 0, 255)) for v in c)


# ---------------------------------------------------------------------------------------------
# Scene data
# ---------------------------------------------------------------------------------------------

@dataclass
class Scene:
    image: np.ndarray
    labels: np.ndarray
    objects: list = field(default_factory=list)
    confounders: list = field(default_factory=list)
    seed: int = 0
    angle_deg: float = 0.0


@dataclass
class Params:
    """Per-scene knobs. Demo densities are ~10x the real ones (see module docstring)."""
    p_pv: float = 0.5          # houses with one or two PV arrays
    p_wh: float = 0.5          # houses with a water heater
    p_pool: float = 0.5        # parcels with a pool
    p_ph: float = 0.85         # pool owners with a pool heater on the roof
    p_skylight: float = 0.35   # houses with skylights
    p_patch: float = 0.3       # houses with a dark roof patch
    p_car: float = 0.45        # parcels with a car on the driveway
    p_street_car: float = 0.25 # street-parked cars per parcel frontage
    p_shade: float = 0.45      # parcels with shade cloth (carport or patio)
    difficulty: float = 0.35   # share of hard confounders


class _Builder:
    """Draws one axis-aligned scene on a square canvas. North is up (-y) before rotation."""

    def __init__(self, rng, size, params: Params):
        self.rng = rng
        self.size = size
        self.p = params
        self.img = np.zeros((size, size, 3), np.float32)
        self.lab = np.zeros((size, size), np.uint8)
        self.roof_items = np.zeros((size, size), bool)   # occupied roof area (objects + confounders)
        self.ground_items = np.zeros((size, size), bool)  # cars, shade cloth, pools, trees
        self.house_mask = np.zeros((size, size), bool)    # roofs
        self.objects = []       # (class, rect)
        self.confounders = []   # (type, rect)
        elev = math.radians(rng.uniform(58, 75))
        az = math.radians(rng.uniform(-40, 40))  # 0 = sun due north
        # unit vector towards the sun in canvas coords (x east, y south, z up)
        self.sun = np.array([math.sin(az) * math.cos(elev), -math.cos(az) * math.cos(elev), math.sin(elev)])
        # shadow displacement per metre of height, in px (away from the sun)
        k = PX / math.tan(elev)
        self.shadow_dir = np.array([-math.sin(az), math.cos(az)]) * k
        self.houses = []

    # -- ground -----------------------------------------------------------------------------
    def ground(self):
        rng, s = self.rng, self.size
        dry = rng.random() < 0.4
        base = (150, 140, 100) if dry else (95, 120, 60)
        self.lawn_base = base
        fill(self.img, (0, 0, s, s), jitter(rng, base, 8))
        self.img += (14 * noise(rng, s, s, 20, 3))[..., None] * np.array([1.0, 1.0, 0.7], np.float32)

    def streets_and_parcels(self):
        rng, s = self.rng, self.size
        parcels = []
        street_w = int(m2px(rng.uniform(9, 12)))
        y = -int(rng.uniform(0, 400))
        rows = []
        while y < s:
            depth = int(m2px(rng.uniform(26, 34)))
            rows.append((y + street_w, y + street_w + 2 * depth))
            y += street_w + 2 * depth
        # horizontal streets
        for (y0, _y1) in rows + [(y + street_w, None)]:
            self._street((0, y0 - street_w, s, y0), horizontal=True)
        for (by0, by1) in rows:
            # vertical cross streets every 90-160 m
            x = -int(rng.uniform(0, 900))
            while x < s:
                bw = int(m2px(rng.uniform(90, 160)))
                bx0, bx1 = x, x + bw
                self._street((bx1, by0, bx1 + street_w, by1), horizontal=False)
                mid = (by0 + by1) // 2
                for (py0, py1, front) in ((by0, mid, "top"), (mid, by1, "bottom")):
                    px = bx0
                    while px < bx1 - m2px(10):
                        pw = int(m2px(rng.uniform(14, 22)))
                        px1 = min(px + pw, bx1)
                        if px1 - px > m2px(10):
                            parcels.append((px, py0, px1, py1, front))
                        px = px1
                x = bx1 + street_w
        return parcels

    def _street(self, r, horizontal):
        rng = self.rng
        x0, y0, x1, y1 = r
        fill(self.img, r, jitter(rng, (72, 72, 74), 6), rng, tex=6, cell=2)
        sw = int(m2px(rng.uniform(1.2, 2.2)))
        verge = jitter(rng, (160, 155, 145), 10) if rng.random() < 0.6 else jitter(rng, self.lawn_base, 8)
        if horizontal:
            fill(self.img, (x0, y0, x1, y0 + sw), verge, rng, tex=6, cell=4)
            fill(self.img, (x0, y1 - sw, x1, y1), verge, rng, tex=6, cell=4)
            fill(self.img, (x0, y0 + sw, x1, y0 + sw + 2), (185, 185, 180))
            fill(self.img, (x0, y1 - sw - 2, x1, y1 - sw), (185, 185, 180))
            if rng.random() < 0.5:  # dashed centre line
                yc = (y0 + y1) // 2
                for xx in range(x0, x1, 50):
                    fill(self.img, (xx, yc - 1, xx + 25, yc + 1), (215, 215, 205))
        else:
            fill(self.img, (x0, y0, x0 + sw, y1), verge, rng, tex=6, cell=4)
            fill(self.img, (x1 - sw, y0, x1, y1), verge, rng, tex=6, cell=4)
            fill(self.img, (x0 + sw, y0, x0 + sw + 2, y1), (185, 185, 180))
            fill(self.img, (x1 - sw - 2, y0, x1 - sw, y1), (185, 185, 180))
        # street-parked cars
        if horizontal:
            for lane_y, flip in ((y0 + sw + 4, False), (y1 - sw - 4 - int(m2px(1.8)), True)):
                xx = x0 + int(rng.uniform(0, 300))
                while xx < x1:
                    if rng.random() < self.p.p_street_car:
                        self._car(xx, lane_y, horizontal=True, flip=flip)
                    xx += int(m2px(rng.uniform(7, 20)))
        else:
            for lane_x, flip in ((x0 + sw + 4, False), (x1 - sw - 4 - int(m2px(1.8)), True)):
                yy = y0 + int(rng.uniform(0, 300))
                while yy < y1:
                    if rng.random() < self.p.p_street_car:
                        self._car(lane_x, yy, horizontal=False, flip=flip)
                    yy += int(m2px(rng.uniform(7, 20)))

    # -- parcels ----------------------------------------------------------------------------
    def parcel(self, px0, py0, px1, py1, front):
        rng, s = self.rng, self.size
        if px1 <= 0 or py1 <= 0 or px0 >= s or py0 >= s:
            return
        # yard surface
        kind = rng.random()
        if kind < 0.6:
            col = jitter(rng, self.lawn_base, 14)
            fill(self.img, (px0, py0, px1, py1), col, rng, tex=10, cell=6)
        elif kind < 0.8:
            fill(self.img, (px0, py0, px1, py1), jitter(rng, (165, 150, 115), 12), rng, tex=9, cell=5)
        else:
            fill(self.img, (px0, py0, px1, py1), jitter(rng, (170, 165, 155), 12), rng, tex=7, cell=2)
        # boundary walls
        wall = jitter(rng, (200, 195, 185), 10)
        for r in ((px0, py0, px1, py0 + 3), (px0, py1 - 3, px1, py1), (px0, py0, px0 + 3, py1), (px1 - 3, py0, px1, py1)):
            fill(self.img, r, wall)
        W, D = px1 - px0, py1 - py0
        # house footprint
        hw = int(W * rng.uniform(0.55, 0.8))
        hd = int(min(m2px(rng.uniform(10, 16)), D * 0.55))
        setback = int(m2px(rng.uniform(3, 6.5)))
        side_gap = W - hw
        drive_left = rng.random() < 0.5
        hx0 = px0 + (side_gap - int(m2px(1.2)) if drive_left else int(m2px(1.2)))
        hx0 = int(np.clip(hx0, px0 + 4, px1 - hw - 4))
        if front == "top":
            hy0 = py0 + setback
        else:
            hy0 = py1 - setback - hd
        house = [(hx0, hy0, hx0 + hw, hy0 + hd)]
        if rng.random() < 0.4:  # wing towards the back yard
            ww = int(hw * rng.uniform(0.35, 0.55))
            wd = int(m2px(rng.uniform(4, 7)))
            wx0 = hx0 if rng.random() < 0.5 else hx0 + hw - ww
            if front == "top":
                house.append((wx0, hy0 + hd, wx0 + ww, hy0 + hd + wd))
            else:
                house.append((wx0, hy0 - wd, wx0 + ww, hy0))
        # driveway from the street to the garage side (beside the house if there is room)
        dw = int(m2px(rng.uniform(2.8, 3.6)))
        if drive_left:
            dx0 = px0 + 6 if hx0 - px0 > dw + 10 else hx0 + 8
        else:
            dx0 = px1 - 6 - dw if px1 - (hx0 + hw) > dw + 10 else hx0 + hw - dw - 8
        if front == "top":
            dr = (dx0, py0, dx0 + dw, hy0 + int(hd * 0.6))
        else:
            dr = (dx0, hy0 + int(hd * 0.4), dx0 + dw, py1)
        paving = jitter(rng, pick(rng, [(150, 150, 148), (165, 120, 100), (120, 118, 115), (185, 180, 170)]), 10)
        fill(self.img, dr, paving, rng, tex=8, cell=2)
        # back yard area (for pool/patio)
        if front == "top":
            back = (px0 + 6, max(r[3] for r in house) + 10, px1 - 6, py1 - 6)
        else:
            back = (px0 + 6, py0 + 6, px1 - 6, min(r[1] for r in house) - 10)
        pool = None
        if rng.random() < self.p.p_pool and self.inside(back):
            pool = self._pool(back)
        self.houses.append(dict(rects=house, pool=pool, drive=dr, front=front, back=back,
                                parcel=(px0, py0, px1, py1)))

    def _pool(self, back):
        rng = self.rng
        bx0, by0, bx1, by1 = back
        pw, pd = int(m2px(rng.uniform(3, 5))), int(m2px(rng.uniform(5.5, 10)))
        if rng.random() < 0.5:
            pw, pd = pd, pw
        if bx1 - bx0 < pw + 10 or by1 - by0 < pd + 10:
            return None
        x0 = int(rng.integers(bx0 + 5, bx1 - pw - 4))
        y0 = int(rng.integers(by0 + 5, by1 - pd - 4))
        c = int(m2px(0.4))
        oval = rng.random() < 0.25
        if oval:
            outer = np.zeros((pd + 2 * c, pw + 2 * c), np.float32)
            ctr = ((pw + 2 * c) // 2, (pd + 2 * c) // 2)
            cv2.ellipse(outer, ctr, ((pw + 2 * c) // 2 - 1, (pd + 2 * c) // 2 - 1), 0, 0, 360, 1, -1)
            inner = np.zeros_like(outer)
            cv2.ellipse(inner, ctr, (pw // 2 - 1, pd // 2 - 1), 0, 0, 360, 1, -1)
        else:
            rad = rng.uniform(0, m2px(1.2))
            outer = rounded_rect_mask(pd + 2 * c, pw + 2 * c, rad + c)
            inner = np.zeros_like(outer)
            inner[c:c + pd, c:c + pw] = rounded_rect_mask(pd, pw, rad)
        coping = np.empty(outer.shape + (3,), np.float32)
        coping[:] = jitter(rng, (215, 210, 195), 10)
        composite(self.img, x0 - c, y0 - c, coping, outer)
        water = np.empty(outer.shape + (3,), np.float32)
        deep = np.array(jitter(rng, pick(rng, [(40, 150, 185), (60, 170, 195), (35, 110, 170), (70, 160, 150)]), 10))
        yy = np.linspace(0, 1, outer.shape[0])[:, None, None]
        water[:] = deep * (0.85 + 0.25 * yy)
        water += (10 * noise(rng, *outer.shape, 3))[..., None]
        composite(self.img, x0 - c, y0 - c, water, inner)
        r = (x0 - c, y0 - c, x0 + pw + c, y0 + pd + c)
        self.ground_items[r[1]:r[3], r[0]:r[2]] = True
        return r

    def inside(self, r, pad=2):
        return r[0] >= pad and r[1] >= pad and r[2] <= self.size - pad and r[3] <= self.size - pad

    def free_ground(self, r):
        """True when rect r is inside the canvas and clear of roofs, pools, cars and shade cloth."""
        if not self.inside(r):
            return False
        x0, y0, x1, y1 = r
        return not (self.ground_items[y0:y1, x0:x1].any() or self.house_mask[y0:y1, x0:x1].any())

    # -- roofs ------------------------------------------------------------------------------
    def building_shadow(self, rect, height_m):
        x0, y0, x1, y1 = rect
        dx, dy = self.shadow_dir * height_m
        m = np.ones((y1 - y0, x1 - x0), np.float32)
        darken(self.img, int(x0 + dx), int(y0 + dy), m, 0.5)

    def roof(self, rect, rng):
        """Draws a roof and returns its facets: list of (mask_full_rect_bool, facing (nx, ny))."""
        x0, y0, x1, y1 = rect
        h, w = y1 - y0, x1 - x0
        names = list(ROOF_MATERIALS)
        material = pick(rng, names, [ROOF_MATERIALS[n][0] for n in names])
        colour = np.array(jitter(rng, pick(rng, ROOF_MATERIALS[material][1]), 10), np.float32)
        kind = "flat" if material == "flat" else pick(rng, ["gable", "hip"], [0.5, 0.5])
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        facets = []
        if kind == "flat":
            facets.append((np.ones((h, w), bool), (0.0, 0.0)))
            pitch = 0.0
        else:
            pitch = math.radians(rng.uniform(17, 30))
            dl, dr, dt, db = xx, w - 1 - xx, yy, h - 1 - yy
            along_x = w >= h if rng.random() < 0.85 else w < h
            if kind == "gable":
                if along_x:
                    top = dt < db
                    facets += [(top, (0.0, -1.0)), (~top, (0.0, 1.0))]
                else:
                    left = dl < dr
                    facets += [(left, (-1.0, 0.0)), (~left, (1.0, 0.0))]
            else:
                d = np.stack([dt, db, dl, dr])
                arg = np.argmin(d, axis=0)
                for i, f in enumerate([(0.0, -1.0), (0.0, 1.0), (-1.0, 0.0), (1.0, 0.0)]):
                    facets.append((arg == i, f))
        shade = np.ones((h, w), np.float32)
        for mask, (fx, fy) in facets:
            n = np.array([fx * math.sin(pitch), fy * math.sin(pitch), math.cos(pitch)])
            f = 0.35 + 0.65 * max(float(n @ self.sun), 0.0) / self.sun[2]
            shade[mask] = f
        tex = np.zeros((h, w), np.float32)
        if material == "sheet":
            period = rng.uniform(2.2, 3.2)
            # ribs run down the slope: perpendicular to the ridge
            coord = xx if (kind == "gable" and facets[0][1][1] != 0) else yy
            tex += 6 * np.sin(2 * np.pi * coord / period) + 3 * noise(rng, h, w, 30)
        elif material in ("clay_tile", "concrete_tile"):
            period = rng.uniform(3.5, 4.5)
            coord = yy if (kind == "gable" and facets[0][1][1] != 0) or kind == "hip" else xx
            tex += 7 * (np.mod(coord, period) < 1.2) * -1.0 + 5 * noise(rng, h, w, 1.5) + 6 * noise(rng, h, w, 25)
        else:
            tex += 5 * noise(rng, h, w, 2) + 10 * noise(rng, h, w, 35, 2)
        rgb = colour[None, None, :] * shade[..., None] + tex[..., None]
        if kind == "flat":  # parapet
            rgb[:3] += 25; rgb[-3:] -= 20; rgb[:, :3] += 15; rgb[:, -3:] -= 15
        else:  # ridge/hip lines
            edges = np.zeros((h, w), bool)
            for mask, _ in facets:
                e = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=1).astype(bool)
                edges |= e
            rgb[edges] += 12
        # eaves border
        rgb[[0, -1], :] *= 0.8
        rgb[:, [0, -1]] *= 0.8
        self.img[y0:y1, x0:x1] = rgb
        self.house_mask[y0:y1, x0:x1] = True
        return [(m, f) for m, f in facets], colour, material

    # -- placement on roofs ----------------------------------------------------------------
    def _facet_order(self, facets, prefer):
        rng = self.rng
        order = list(range(len(facets)))
        if prefer is not None:
            order.sort(key=lambda i: -(facets[i][1][0] * prefer[0] + facets[i][1][1] * prefer[1]) + rng.uniform(0, 0.8))
        else:
            rng.shuffle(order)
        return order

    def _try_facet(self, rect, mask, w, h, margin, tries=30):
        """A free w x h spot fully inside one facet mask (eroded by `margin`), or None."""
        rng = self.rng
        if margin:
            mask = cv2.erode(mask.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8),
                             borderValue=0).astype(bool)
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            return None
        fx0, fx1, fy0, fy1 = xs.min(), xs.max(), ys.min(), ys.max()
        if fx1 - fx0 + 1 < w or fy1 - fy0 + 1 < h:
            return None
        for _ in range(tries):
            ax = int(rng.integers(fx0, fx1 - w + 2))
            ay = int(rng.integers(fy0, fy1 - h + 2))
            if not mask[ay:ay + h, ax:ax + w].all():
                continue
            gx, gy = rect[0] + ax, rect[1] + ay
            if self.roof_items[max(0, gy - 3):gy + h + 3, max(0, gx - 3):gx + w + 3].any():
                continue
            return (gx, gy, gx + w, gy + h)
        return None

    def place_on_facet(self, rect, facets, w, h, prefer=None, margin=4):
        """Finds a free w x h rectangle inside one facet; returns (rect, facing) or None."""
        for i in self._facet_order(facets, prefer):
            r = self._try_facet(rect, facets[i][0], w, h, margin)
            if r is not None:
                return r, facets[i][1]
        return None

    def place_oriented(self, rect, facets, rgb, alpha=None, prefer=(0.0, -1.0), margin=4):
        """Places a patch drawn with its upslope end at the top, rotated to each facet's slope.

        Returns (rect, rgb, alpha) rotated to fit, or None when no facet has room."""
        if alpha is None:
            alpha = np.ones(rgb.shape[:2], np.float32)
        for i in self._facet_order(facets, prefer):
            fx, fy = facets[i][1]
            if fx == 0 and fy == 0:
                k = int(self.rng.integers(4))   # flat roof: any orientation
            elif fy > 0:
                k = 0                           # south-facing: ridge (upslope) at the top
            elif fy < 0:
                k = 2                           # north-facing: ridge at the bottom
            elif fx > 0:
                k = 1                           # east-facing: ridge on the left
            else:
                k = 3                           # west-facing: ridge on the right
            out, a = np.rot90(rgb, k), np.rot90(alpha, k)
            r = self._try_facet(rect, facets[i][0], out.shape[1], out.shape[0], margin)
            if r is not None:
                return r, np.ascontiguousarray(out), np.ascontiguousarray(a)
        return None

    def add_object(self, cls, r, rgb, alpha=None):
        x0, y0, x1, y1 = r
        if alpha is None:
            alpha = np.ones(rgb.shape[:2], np.float32)
        composite(self.img, x0, y0, rgb, alpha)
        self.lab[y0:y1, x0:x1] = np.where(alpha > 0.5, cls, self.lab[y0:y1, x0:x1])
        self.roof_items[y0:y1, x0:x1] = True
        self.objects.append((cls, r))

    def add_confounder(self, kind, r, rgb, alpha=None, roof=True):
        x0, y0, x1, y1 = r
        if alpha is None:
            alpha = np.ones(rgb.shape[:2], np.float32)
        composite(self.img, x0, y0, rgb, alpha)
        (self.roof_items if roof else self.ground_items)[max(0, y0):y1, max(0, x0):x1] = True
        self.confounders.append((kind, r))

    def small_shadow(self, r, height_m, factor=0.6):
        x0, y0, x1, y1 = r
        dx, dy = self.shadow_dir * height_m
        m = np.ones((y1 - y0, x1 - x0), np.float32)
        darken(self.img, int(round(x0 + dx)), int(round(y0 + dy)), m, factor)

    # -- labelled objects ------------------------------------------------------------------
    def solar_array(self, rect, facets):
        rng = self.rng
        # x1.5: arrays that do not fit are shrunk; this keeps the placed sizes near the real ones
        area = 1.5 * lognormal_area(rng, 9.6, 2.9, 28.4, 1.6, 45)
        n = max(1, int(round(area / 1.7)))
        mono = rng.random() < 0.45
        base = np.array(jitter(rng, (22, 24, 34) if mono else (32, 48, 92), 6), np.float32)
        frame_col = np.array(jitter(rng, pick(rng, [(150, 155, 160), (45, 45, 50)]), 10), np.float32)
        landscape = rng.random() < 0.2
        mw, mh = (21, 12) if landscape else (int(pick(rng, [12, 13])), 21)
        placed = None
        for _ in range(6):
            rows = int(pick(rng, [1, 2, 2, 3, 3, 4])) if n > 2 else int(rng.integers(1, 3))
            rows = min(rows, n)
            cols = int(math.ceil(n / rows))
            w, h = cols * mw + 1, rows * mh + 1   # drawn with rows going down the slope
            rgb = np.empty((h, w, 3), np.float32)
            rgb[:] = base
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            cell = 4.0  # faint cell grid (real cells are ~2 px at 8 cm; drawn coarser)
            grid = ((np.mod(xx, cell) < 1) | (np.mod(yy, cell) < 1)).astype(np.float32)
            rgb += grid[..., None] * (np.array([10, 10, 14], np.float32) * (0.6 if mono else 1.0))
            frame = (np.mod(xx, mw) < 1) | (np.mod(yy, mh) < 1)
            rgb[frame] = rgb[frame] * 0.4 + frame_col * 0.6
            gx, gy = rng.normal(0, 1, 2)  # sky reflection gradient
            grad = gx * xx / max(w, 1) + gy * yy / max(h, 1)
            grad = (grad - grad.min()) / (np.ptp(grad) + 1e-6)
            rgb += (grad ** 2)[..., None] * np.array([18, 22, 35], np.float32) * rng.uniform(0.3, 1.3)
            rgb += (2.5 * rng.standard_normal((h, w)))[..., None]
            placed = self.place_oriented(rect, facets, rgb)
            if placed is not None:
                break
            n = max(1, int(n * 0.7))
        if placed is None:
            return False
        r, rgb, _ = placed
        h, w = rgb.shape[:2]
        self.small_shadow(r, 0.15, 0.55)
        self.add_object(1, r, rgb)
        if rng.random() < 0.25:  # partial shade (a tree or structure out of frame); still labelled
            blob = np.zeros((h * 2, w * 2), np.float32)
            cx, cy = int(rng.uniform(0, w)) + w // 2, int(rng.uniform(0, h)) + h // 2
            cv2.ellipse(blob, (cx, cy), (max(2, int(rng.uniform(0.3, 0.8) * w)), max(2, int(rng.uniform(0.3, 0.8) * h))),
                        float(rng.uniform(0, 180)), 0, 360, 1, -1)
            blob = cv2.GaussianBlur(blob, (0, 0), 1.5)
            darken(self.img, r[0] - w // 2, r[1] - h // 2, blob, rng.uniform(0.45, 0.65))
        return True

    def water_heater(self, rect, facets):
        rng = self.rng
        area_px = 1.1 * lognormal_area(rng, 1.9, 1.0, 4.0, 0.6, 6.0) * PX * PX  # x1.1: integer rounding
        variant = pick(rng, ["plate", "tubes", "tank"], [0.45, 0.3, 0.25])
        if variant == "tank":  # a lone horizontal tank, long axis across the slope
            aspect = rng.uniform(2.0, 3.0)
        else:
            aspect = rng.uniform(0.8, 1.4)
        w = max(8, int(round(math.sqrt(area_px * aspect))))
        h = max(6 if variant == "tank" else 8, int(round(area_px / w)))
        rgb = np.empty((h, w, 3), np.float32)
        tank_col = np.array(jitter(rng, pick(rng, [(238, 238, 235), (225, 228, 230), (200, 202, 205),
                                                   (235, 228, 210), (175, 178, 180)]), 6), np.float32)
        th = h if variant == "tank" else max(5, int(h * rng.uniform(0.3, 0.42)))
        t = (np.arange(th, dtype=np.float32) + 0.5) / th
        prof = 0.72 + 0.28 * np.sin(np.pi * t) + 0.08 * np.exp(-((t - 0.35) / 0.1) ** 2)  # cylinder
        rgb[:th] = tank_col * prof[:, None, None]
        rgb[:th, :1] *= 0.8
        rgb[:th, -1:] *= 0.8  # end caps
        xx = np.arange(w)
        if variant == "plate":
            c = np.array(jitter(rng, pick(rng, [(45, 50, 62), (60, 62, 70), (35, 40, 55)]), 6), np.float32)
            rgb[th:] = c
            rgb[th:, (xx % 3) == 0] += 8
            frame = np.array(jitter(rng, (175, 178, 180), 10), np.float32)
            rgb[th:, 0] = frame
            rgb[th:, -1] = frame
            rgb[-1, :] = frame
        elif variant == "tubes":
            tube = (xx % 3) != 2
            rgb[th:] = np.array(jitter(rng, (55, 60, 70), 8), np.float32)
            rgb[th:, tube] += 10
            rgb[th:, ~tube] = rgb[th:, ~tube] * 0.3 + np.array(jitter(rng, (120, 110, 100), 20), np.float32) * 0.7
            rgb[-2:, :] = 185
        placed = self.place_oriented(rect, facets, rgb)
        if placed is None:
            return False
        r, rgb, _ = placed
        self.small_shadow(r, 0.6, 0.5)
        self.add_object(2, r, rgb)
        return True

    def pool_heater(self, rect, facets, pool):
        rng = self.rng
        area = 1.3 * lognormal_area(rng, 13.9, 6.6, 26.8, 4.0, 40)  # x1.3: shrunk to fit, see solar_array
        px_w = int(round(m2px(rng.uniform(1.15, 1.25))))
        h = int(m2px(rng.uniform(2.4, 4.6)))   # strips run down the slope
        n = max(2, int(round(area * PX * PX / (px_w * h))))
        gap = int(pick(rng, [1, 2, 2, 3]))
        pcx, pcy = (pool[0] + pool[2]) / 2, (pool[1] + pool[3]) / 2
        rcx, rcy = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
        v = np.array([pcx - rcx, pcy - rcy])
        v = v / (np.linalg.norm(v) + 1e-6)  # prefer the facet facing the pool
        head = np.array(jitter(rng, (105, 105, 108), 15), np.float32)
        base = np.array(jitter(rng, (24, 24, 26), 4), np.float32)
        placed = None
        for _ in range(5):
            w = n * px_w + (n - 1) * gap
            rgb = np.empty((h, w, 3), np.float32)
            rgb[:] = base
            xx = np.arange(w)
            rgb[:, (xx % 2) == 0] += rng.uniform(3, 7)  # fine tube lines along each strip
            alpha = np.ones((h, w), np.float32)
            for i in range(1, n):
                gx = i * px_w + (i - 1) * gap
                alpha[:, gx:gx + gap] = 0.0   # the roof shows between strips
            rgb[:2] = head
            rgb[-2:] = head
            alpha[:2] = 1
            alpha[-2:] = 1
            rgb += (2.0 * rng.standard_normal((h, w)))[..., None]
            placed = self.place_oriented(rect, facets, rgb, alpha, prefer=tuple(v))
            if placed is not None:
                break
            n = max(2, n - 2)
            h = max(int(m2px(2.4)), int(h * 0.85))
        if placed is None:
            return False
        r, rgb, alpha = placed
        self.small_shadow(r, 0.05, 0.7)
        x0, y0, x1, y1 = r
        composite(self.img, x0, y0, rgb, alpha)
        self.lab[y0:y1, x0:x1] = 3  # the system's outline is labelled, gaps between strips included
        self.roof_items[y0:y1, x0:x1] = True
        self.objects.append((3, r))
        return True

    # -- confounders ----------------------------------------------------------------------
    def skylight(self, rect, facets):
        rng = self.rng
        hard = rng.random() < self.p.difficulty
        s = int(m2px(rng.uniform(0.5, 1.3)))
        w, h = s, int(s * rng.uniform(0.8, 1.6))
        if hard:  # white/grey rectangle with a rounded, tank-like gradient: looks like a water heater
            w, h = int(m2px(rng.uniform(1.0, 1.6))), int(m2px(rng.uniform(0.9, 1.4)))
        rgb = np.empty((h, w, 3), np.float32)
        variant = "dome" if hard else pick(rng, ["clear", "dark", "dome"])
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        if variant == "dome":
            d = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
            if hard and rng.random() < 0.5:
                d = np.abs((yy - h / 2) / (h / 2)) + 0 * xx  # barrel vault
            rgb[:] = (np.clip(1 - 0.35 * d, 0.5, 1) * 240)[..., None] * np.array([1, 1, 1.02], np.float32)
        elif variant == "clear":
            rgb[:] = np.array(jitter(rng, (185, 205, 220), 12), np.float32)
            rgb += (40 * np.clip(1 - np.abs(xx - yy - rng.uniform(-3, 3)) / 3, 0, 1))[..., None]
        else:
            rgb[:] = np.array(jitter(rng, (70, 80, 90), 10), np.float32)
            rgb += (90 * np.clip(1 - np.abs(xx - yy) / 2, 0, 1))[..., None]
        frame = np.array(jitter(rng, (200, 200, 198), 10), np.float32)
        rgb[0] = frame; rgb[-1] = frame; rgb[:, 0] = frame; rgb[:, -1] = frame
        spot = self.place_on_facet(rect, facets, w, h)
        if spot is None:
            return False
        r = spot[0]
        self.small_shadow(r, 0.15, 0.6)
        self.add_confounder("skylight", r, np.clip(rgb, 0, 255))
        return True

    def dark_patch(self, rect, facets):
        rng = self.rng
        hard = rng.random() < self.p.difficulty
        area = lognormal_area(rng, 6.0, 2.0, 18.0, 1.0, 30) * PX * PX
        aspect = rng.uniform(0.6, 2.5)
        w = max(10, int(math.sqrt(area * aspect))); h = max(10, int(area / w))
        spot = self.place_on_facet(rect, facets, w, h)
        if spot is None:
            return False
        r = spot[0]
        x0, y0, x1, y1 = r
        under = self.img[y0:y1, x0:x1].copy()
        if hard:  # near-PV: blue-black tint and faint seams, but no module frames or cell grid
            target = np.array(jitter(rng, pick(rng, [(30, 36, 60), (26, 28, 36)]), 5), np.float32)
            rgb = under * 0.12 + target * 0.88
            if rng.random() < 0.6:
                yy, xx = np.mgrid[0:h, 0:w]
                seam = (np.mod(xx, int(rng.integers(14, 30))) == 0)
                rgb[seam] += 12
        else:
            factor = rng.uniform(0.3, 0.55)
            tint = np.array(jitter(rng, pick(rng, [(40, 38, 36), (55, 45, 40), (45, 50, 48)]), 6), np.float32)
            rgb = under * factor * 0.6 + tint * 0.4
        rgb += (3 * noise(rng, h, w, 2))[..., None]
        alpha = np.ones((h, w), np.float32)
        if not hard and rng.random() < 0.5:  # ragged edges of a bitumen repair
            alpha = np.clip(1.5 + 1.2 * noise(rng, h, w, 4) - 0.0, 0, 1)
            alpha[2:-2, 2:-2] = np.maximum(alpha[2:-2, 2:-2], 0.9)
        self.add_confounder("dark_roof_patch", r, rgb, alpha)
        return True

    def _car(self, x, y, horizontal, flip=False):
        rng = self.rng
        L, Wd = int(m2px(rng.uniform(4.1, 4.9))), int(m2px(rng.uniform(1.7, 1.9)))
        colours, weights = zip(*CAR_COLOURS)
        col = pick(rng, list(colours), list(weights))
        if rng.random() < self.p.difficulty * 0.5:
            col = pick(rng, [(25, 30, 50), (22, 22, 26)])
        col = np.array(jitter(rng, col, 6), np.float32)
        bakkie = rng.random() < 0.2
        # drawn pointing right (front at +x)
        rgb = np.empty((Wd, L, 3), np.float32)
        yy, xx = np.mgrid[0:Wd, 0:L].astype(np.float32)
        t = (yy + 0.5) / Wd
        rgb[:] = col * (0.8 + 0.25 * np.sin(np.pi * t))[..., None]
        glass = np.array((35, 40, 45), np.float32)
        ws0, ws1 = int(L * 0.62), int(L * 0.74)
        rgb[1:-1, ws0:ws1] = glass
        rgb[1:-1, int(L * 0.2):int(L * 0.28)] = glass
        rgb[:1, int(L * 0.3):int(L * 0.62)] = glass * 1.3
        rgb[-1:, int(L * 0.3):int(L * 0.62)] = glass * 1.3
        if bakkie:
            rgb[2:-2, 2:int(L * 0.45)] = col * 0.7
            rgb[1:-1, int(L * 0.2):int(L * 0.28)] = col * 0.85
        alpha = rounded_rect_mask(Wd, L, 4)
        if flip:
            rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
        if not horizontal:
            rgb, alpha = np.rot90(rgb).copy(), np.rot90(alpha).copy()
        h, w = alpha.shape
        if not self.free_ground((x, y, x + w, y + h)):
            return False
        darken(self.img, int(x + self.shadow_dir[0] * 1.4), int(y + self.shadow_dir[1] * 1.4), alpha, 0.55)
        self.add_confounder("vehicle", (x, y, x + w, y + h), rgb, alpha, roof=False)
        return True

    def shade_cloth(self, house, near_pool):
        rng = self.rng
        hard = rng.random() < self.p.difficulty
        pool = house["pool"]
        if near_pool and pool is not None:
            # patio next to the pool
            px0, py0, px1, py1 = pool
            w, h = int(m2px(rng.uniform(3, 6))), int(m2px(rng.uniform(2.5, 4.5)))
            cands = [(px0 - w - 8, py0), (px1 + 8, py0), (px0, py0 - h - 8), (px0, py1 + 8)]
            rng.shuffle(cands)
        elif rng.random() < 0.35:
            # patio against the back wall of the house
            hx0, hy0, hx1, hy1 = house["rects"][0]
            w, h = int(m2px(rng.uniform(3, 7))), int(m2px(rng.uniform(2.5, 4)))
            y = hy1 + 1 if house["front"] == "top" else hy0 - h - 1
            cands = [(int(x), y) for x in np.linspace(hx0, hx1 - w, 6)]
            rng.shuffle(cands)
        else:
            dx0, dy0, dx1, dy1 = house["drive"]
            w, h = dx1 - dx0 + int(m2px(rng.uniform(0, 1.5))), int(m2px(rng.uniform(4.5, 6)))
            # carport over the driveway: try positions from the house end towards the street
            ys = np.arange(dy0, dy1 - h, 6)
            if house["front"] == "top":
                ys = ys[::-1]
            cands = [(dx0 - int(rng.integers(0, 8)), int(y)) for y in ys]
        cp = house["parcel"]
        for (x, y) in cands:
            r = (int(x), int(y), int(x) + w, int(y) + h)
            if r[0] < cp[0] + 3 or r[1] < cp[1] + 3 or r[2] > cp[2] - 3 or r[3] > cp[3] - 3:
                continue
            if not self.free_ground(r):
                continue
            break
        else:
            return False
        if hard:
            col = np.array(jitter(rng, (28, 28, 30), 4), np.float32)
        else:
            col = np.array(jitter(rng, pick(rng, [(40, 42, 45), (55, 75, 55), (185, 175, 150), (60, 62, 66), (50, 70, 110)]), 8), np.float32)
        x0, y0, x1, y1 = r
        under = self.img[y0:y1, x0:x1].copy()
        yy, xx = np.mgrid[0:h, 0:w]
        weave = ((xx + yy) % 2 == 0) * 4.0
        rgb = col + weave[..., None] + (3 * noise(rng, h, w, 6))[..., None]
        seam_every = int(m2px(rng.uniform(1.1, 1.4) if hard else rng.uniform(1.8, 3.0)))
        seam = (np.mod(xx if w > h else yy, seam_every) == 0)
        rgb[seam] += 18 if not hard else 6
        opacity = rng.uniform(0.8, 0.93)
        rgb = rgb * opacity + under * 0.35 * (1 - opacity)
        for (cx, cy) in ((1, 1), (w - 2, 1), (1, h - 2), (w - 2, h - 2)):
            rgb[max(0, cy - 1):cy + 2, max(0, cx - 1):cx + 2] = (150, 150, 150)
        darken(self.img, int(x0 + self.shadow_dir[0] * 2.5), int(y0 + self.shadow_dir[1] * 2.5),
               np.ones((h, w), np.float32), 0.7)
        self.add_confounder("shade_cloth", r, rgb, roof=False)
        return True

    # -- trees ----------------------------------------------------------------------------
    def tree(self, cx, cy):
        rng = self.rng
        rad = m2px(rng.uniform(1.3, 3.8))
        size = int(rad * 2.6) + 4
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        c = size / 2
        d = np.sqrt((xx - c) ** 2 + (yy - c) ** 2)
        edge = rad * (1 + 0.18 * noise(rng, size, size, max(3, rad / 2)))
        mask = (d < edge).astype(np.float32)
        x0, y0 = int(cx - c), int(cy - c)
        # keep canopies off labelled objects and confounders on roofs
        cx0, cy0, cx1, cy1 = clip_rect((x0, y0, x0 + size, y0 + size), self.img.shape)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        sub = mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] > 0
        if (self.roof_items[cy0:cy1, cx0:cx1] & sub).any() or (self.ground_items[cy0:cy1, cx0:cx1] & sub).any():
            return
        height = rng.uniform(4, 9)
        dx, dy = self.shadow_dir * height
        darken(self.img, int(x0 + dx), int(y0 + dy), cv2.GaussianBlur(mask, (0, 0), 1.2), 0.5)
        base = np.array(jitter(rng, pick(rng, [(50, 75, 40), (40, 65, 35), (70, 90, 50), (35, 55, 40)]), 8), np.float32)
        # the sun-facing side of the crown is brighter
        light = np.clip(1.0 + 0.3 * ((xx - c) * self.sun[0] + (yy - c) * self.sun[1]) / max(rad, 1), 0.6, 1.3)
        clumps = noise(rng, size, size, 3) * 14 + noise(rng, size, size, 1.2) * 6
        rgb = base * light[..., None] + clumps[..., None]
        alpha = cv2.GaussianBlur(mask, (0, 0), 0.7)
        composite(self.img, x0, y0, rgb, alpha)
        self.ground_items[cy0:cy1, cx0:cx1] |= sub

    # -- the whole scene --------------------------------------------------------------------
    def build(self):
        rng, p = self.rng, self.p
        self.ground()
        parcels = self.streets_and_parcels()
        for pc in parcels:
            self.parcel(*pc)
        for house in self.houses:
            for r in house["rects"]:
                self.building_shadow(r, rng.uniform(2.5, 4.5))
        for house in self.houses:
            # the roof of the main block and the wing (objects go on the main roof mostly)
            roofs = []
            for r in house["rects"]:
                cr = clip_rect(r, self.img.shape)
                if cr[2] - cr[0] < 20 or cr[3] - cr[1] < 20:
                    continue
                if cr != tuple(r):
                    # partly outside the canvas: draw the visible part only, no objects
                    self.roof(cr, rng)
                    continue
                facets, colour, material = self.roof(r, rng)
                roofs.append((r, facets, colour))
            house["roofs"] = roofs
            if not roofs:
                continue
            main = roofs[0]
            if house["pool"] is not None and rng.random() < p.p_ph:
                rr = roofs[int(rng.integers(len(roofs)))] if rng.random() < 0.3 else main
                self.pool_heater(rr[0], rr[1], house["pool"])
            if rng.random() < p.p_pv:
                for _ in range(1 if rng.random() < 0.8 else 2):
                    self.solar_array(main[0], main[1])
            if rng.random() < p.p_wh:
                for _ in range(1 if rng.random() < 0.85 else 2):
                    rr = pick(rng, roofs)
                    self.water_heater(rr[0], rr[1])
            if rng.random() < p.p_skylight:
                for _ in range(int(rng.integers(1, 4))):
                    rr = pick(rng, roofs)
                    self.skylight(rr[0], rr[1])
            if rng.random() < p.p_patch:
                rr = pick(rng, roofs)
                self.dark_patch(rr[0], rr[1])
        for house in self.houses:
            if rng.random() < p.p_shade:
                self.shade_cloth(house, near_pool=house["pool"] is not None and rng.random() < 0.6)
            if rng.random() < p.p_car:
                dx0, dy0, dx1, dy1 = house["drive"]
                L = int(m2px(4.6))
                y = dy0 + int(rng.uniform(4, max(5, dy1 - dy0 - L - 4)))
                self._car(dx0 + 4 + int(rng.uniform(-2, 2)), y, horizontal=False, flip=rng.random() < 0.5)
        # trees: in yards and verges
        for house in self.houses:
            px0, py0, px1, py1 = house["parcel"]
            for _ in range(int(rng.integers(0, 4))):
                self.tree(rng.uniform(px0, px1), rng.uniform(py0, py1))
        # photometric finish: colour cast, sensor blur and noise
        cast = np.array([rng.normal(1, 0.04), rng.normal(1, 0.03), rng.normal(1, 0.05)], np.float32)
        img = self.img * cast * rng.uniform(0.9, 1.1) + rng.normal(0, 5)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.45, 0.7))
        img += rng.normal(0, rng.uniform(1.5, 3.0), img.shape).astype(np.float32)
        self.img = np.clip(img, 0, 255)


def generate_scene(seed: int, height: int = 640, width: int = 640, angle_deg: float | None = None,
                   params: Params | None = None, min_visible_px: int = 40) -> Scene:
    """Draws one scene (see module docstring). Fully determined by its arguments."""
    rng = np.random.default_rng(seed)
    if angle_deg is None:
        angle_deg = float(rng.uniform(0, 90)) if rng.random() < 0.7 else 0.0
    if params is None:
        params = Params()
    size = int(math.ceil(math.hypot(height, width))) + 16
    b = _Builder(rng, size, params)
    b.build()
    # rotate about the canvas centre and crop the central height x width window
    M = cv2.getRotationMatrix2D((size / 2, size / 2), angle_deg, 1.0)
    M[0, 2] -= (size - width) / 2
    M[1, 2] -= (size - height) / 2
    img = cv2.warpAffine(b.img, M, (width, height), flags=cv2.INTER_LINEAR)
    lab = cv2.warpAffine(b.lab, M, (width, height), flags=cv2.INTER_NEAREST)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)

    def tr(rect):
        p = rect_poly(rect)
        q = p @ M[:, :2].T + M[:, 2]
        return clip_poly(q, width, height)

    objects, confounders = [], []
    for cls, r in b.objects:
        q = tr(r)
        if poly_area(q) >= min_visible_px:
            objects.append({"class": int(cls), "class_name": CLASS_NAMES[cls], "polygon": q})
    for kind, r in b.confounders:
        q = tr(r)
        if poly_area(q) >= min_visible_px:
            confounders.append({"type": kind, "polygon": q})
    return Scene(img, lab, objects, confounders, seed, angle_deg)


# ---------------------------------------------------------------------------------------------
# Preview CLI
# ---------------------------------------------------------------------------------------------

LABEL_COLOURS = np.array([[0, 0, 0], [255, 220, 0], [0, 255, 255], [255, 0, 255]], np.uint8)
CONF_COLOURS = {"skylight": (255, 255, 255), "dark_roof_patch": (255, 128, 0), "vehicle": (0, 255, 0),
                "shade_cloth": (255, 0, 0)}


def preview(scene: Scene) -> np.ndarray:
    """RGB preview: labels as coloured outlines, confounders as thin typed outlines."""
    out = scene.image.copy()
    for o in scene.objects:
        cv2.polylines(out, [np.round(o["polygon"]).astype(np.int32)], True, LABEL_COLOURS[o["class"]].tolist(), 1)
    for c in scene.confounders:
        cv2.polylines(out, [np.round(c["polygon"]).astype(np.int32)], True, CONF_COLOURS[c["type"]], 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--size", type=int, default=800)
    ap.add_argument("--angle", type=float, default=None)
    ap.add_argument("--out", default="demo-preview", help="folder for the scene, annotated and label PNGs")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    s = generate_scene(a.seed, a.size, a.size, a.angle)
    cv2.imwrite(os.path.join(a.out, f"scene{a.seed}.png"), s.image[..., ::-1])
    cv2.imwrite(os.path.join(a.out, f"scene{a.seed}_annot.png"), preview(s)[..., ::-1])
    cv2.imwrite(os.path.join(a.out, f"scene{a.seed}_labels.png"), LABEL_COLOURS[s.labels][..., ::-1])
    counts = {n: sum(o["class"] == i for o in s.objects) for i, n in enumerate(CLASS_NAMES) if i}
    conf = {t: sum(c["type"] == t for c in s.confounders) for t in CONFOUNDER_TYPES}
    print(f"seed {a.seed} angle {s.angle_deg:.1f}: objects {counts} confounders {conf}")
    print("label pixel fractions:", np.bincount(s.labels.ravel(), minlength=4) / s.labels.size)


if __name__ == "__main__":
    main()

"""Recomputes every number `geocam study evaluate` reports from its raw outputs, with NumPy,
SciPy and scikit-image (pinned: numpy 2.4.6, scipy 1.17.1, scikit-image 0.26.0), written from
the metrics' published definitions rather than from GeoCAM's code:

  CC        the MIT benchmark's CC.m: Pearson r of the map and the density map
  SIM       similarity.m: each map min-max scaled to [0, 1], then to sum 1; Σ min
  KL        KLdiv.m on maps clipped at 0: Σ g·log(eps + g/(s + eps)), eps = 2.220446049250313e-16
  NSS       NSS.m: map z-scored with the sample sd, mean at the fixations
  AUC-Judd  AUC_Judd.m without jitter: thresholds = map at the fixations, tp = i/F,
            fp = (#pixels >= threshold - i)/(N - F), (0,0) and (1,1) added, trapezoid
  pointing  hit when any pixel equal to the map's max lies in the mask
  energy PG Σ max(map, 0) in the mask / Σ max(map, 0)
  ins/del   RISE's auc(arr) = (Σ arr - arr[0]/2 - arr[-1]/2)/(n - 1) of the stored curves
  summary   mean and sample sd (ddof 1) over the items
  sanity    scipy.stats.spearmanr of |map| against the original's, skimage
            structural_similarity(data_range=1) of |map| min-max scaled, mean over the items,
            and the verdict: fail when the mean Spearman at the target step is >= 0.5

usage: evaluate_reference.py OUTPUT_DIR [RAW_DIR]   (RAW_DIR defaults to OUTPUT_DIR/raw)
Prints the largest difference per quantity and exits 1 when any exceeds 1e-6.
"""
import json
import math
import os
import sys

import numpy as np
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

EPS = np.finfo(np.float64).eps
TOL = 1e-6


def cc(s, g):
    s, g = s.astype(np.float64).ravel(), g.astype(np.float64).ravel()
    if s.std() == 0 or g.std() == 0:
        return None
    return float(np.corrcoef(s, g)[0, 1])


def sim(s, g):
    def norm(m):
        m = m.astype(np.float64).ravel()
        m = (m - m.min()) / (m.max() - m.min()) if m.max() > m.min() else np.zeros_like(m)
        return m / m.sum() if m.sum() > 0 else m
    return float(np.minimum(norm(s), norm(g)).sum())


def kl(s, g):
    s = np.maximum(s.astype(np.float64).ravel(), 0)
    g = np.maximum(g.astype(np.float64).ravel(), 0)
    s = s / s.sum() if s.sum() > 0 else s
    g = g / g.sum() if g.sum() > 0 else g
    return float((g * np.log(EPS + g / (s + EPS))).sum())


def nss(s, fix):
    s = s.astype(np.float64).ravel()
    sd = s.std(ddof=1)
    if sd == 0 or len(fix) == 0:
        return None
    return float(((s - s.mean()) / sd)[fix].mean())


def auc_judd(s, fix):
    s = s.astype(np.float64).ravel()
    n, f = s.size, len(fix)
    if f == 0 or n <= f:
        return None
    thresholds = np.sort(s[fix])[::-1]
    tp, fp = [0.0], [0.0]
    for i, t in enumerate(thresholds):
        above = int((s >= t).sum())
        tp.append((i + 1) / f)
        fp.append((above - (i + 1)) / (n - f))
    tp.append(1.0)
    fp.append(1.0)
    return float(np.trapezoid(tp, fp))


def pointing(s, mask):
    s = s.ravel()
    return 1.0 if bool(mask.ravel()[s == s.max()].any()) else 0.0


def energy(s, mask):
    p = np.maximum(s.astype(np.float64).ravel(), 0)
    return float(p[mask.ravel()].sum() / p.sum()) if p.sum() > 0 else None


def causal_auc(a):
    a = a.astype(np.float64)
    return float((a.sum() - a[0] / 2 - a[-1] / 2) / (len(a) - 1))


def main():
    out = sys.argv[1]
    raw = sys.argv[2] if len(sys.argv) > 2 else os.path.join(out, "raw")
    report = json.load(open(os.path.join(out, "evaluate.json")))
    worst = {}

    def check(name, mine, ref):
        if mine is None and ref is None:
            return
        if (mine is None) != (ref is None):
            worst[name] = math.inf
            print(f"{name}: geocam {mine}, reference {ref}")
            return
        worst[name] = max(worst.get(name, 0.0), abs(mine - ref))

    per_method = {}
    for row in report["rows"]:
        d = os.path.join(raw, row["item"])
        m = row["method"]
        path = os.path.join(d, f"{m}_source.npy")
        s = np.load(path if os.path.exists(path) else os.path.join(d, f"{m}.npy"))
        ref = {}
        if os.path.exists(os.path.join(d, "reference.npy")):
            g = np.load(os.path.join(d, "reference.npy"))
            ref.update(cc=cc(s, g), sim=sim(s, g), kl=kl(s, g))
        if os.path.exists(os.path.join(d, "fixations.npy")):
            fix = np.load(os.path.join(d, "fixations.npy")).astype(np.int64)
            if len(fix):
                ref.update(nss=nss(s, fix), auc_judd=auc_judd(s, fix))
        if os.path.exists(os.path.join(d, "mask.npy")):
            mask = np.load(os.path.join(d, "mask.npy")) != 0
            if mask.any():
                ref.update(pointing_game=pointing(s, mask), energy_pointing_game=energy(s, mask))
        for kind in ("deletion", "insertion"):
            p = os.path.join(d, f"{m}_{kind}.npy")
            if os.path.exists(p):
                ref[f"{kind}_auc"] = causal_auc(np.load(p))
        for name in set(ref) | set(row["metrics"]):
            check(name, row["metrics"].get(name), ref.get(name))
            if ref.get(name) is not None:
                per_method.setdefault(m, {}).setdefault(name, []).append(ref[name])
    for summary in report["summaries"]:
        for name, stat in summary["metrics"].items():
            values = np.array(per_method.get(summary["method"], {}).get(name, []))
            check("summary mean", stat["mean"], float(values.mean()) if len(values) else None)
            check("summary sd", stat.get("sd"), float(values.std(ddof=1)) if len(values) > 1 else None)
    sanity = report.get("sanity")
    if sanity:
        steps = len(sanity["steps"])
        for verdict in sanity["methods"]:
            m = verdict["method"]
            for k in range(steps):
                rhos, ssims = [], []
                for item in sanity["items"]:
                    d = os.path.join(raw, "sanity", item)
                    a = np.load(os.path.join(d, f"{m}_step00.npy")).astype(np.float64)
                    b = np.load(os.path.join(d, f"{m}_step{k + 1:02d}.npy")).astype(np.float64)
                    r = spearmanr(np.abs(a).ravel(), np.abs(b).ravel()).statistic
                    if not np.isnan(r):
                        rhos.append(r)

                    def scaled(x):
                        x = np.abs(x)
                        return (x - x.min()) / (x.max() - x.min()) if x.max() > x.min() else np.zeros_like(x)
                    ssims.append(structural_similarity(scaled(a), scaled(b), data_range=1))
                check("sanity spearman", verdict["spearman"][k], float(np.mean(rhos)) if rhos else None)
                check("sanity ssim", verdict["ssim"][k], float(np.mean(ssims)) if ssims else None)
            t = sanity.get("target_step")
            if t is not None and verdict["spearman"][t] is not None:
                fails = verdict["spearman"][t] >= sanity["threshold"]
                if verdict["passed"] == fails:
                    worst["sanity verdict"] = math.inf
                    print(f"sanity verdict of {m} differs")
    for name, w in sorted(worst.items()):
        print(f"{name}: max |geocam - reference| = {w:.3g}")
    bad = [n for n, w in worst.items() if w > TOL]
    if bad:
        print("FAIL:", ", ".join(bad))
        sys.exit(1)
    print(f"OK: {len(report['rows'])} rows, every number within {TOL}")


if __name__ == "__main__":
    main()

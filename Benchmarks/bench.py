"""Side-by-side timing of one 320 × 320 tile of the demo FPN(resnext50_32x4d): geocam against
PyTorch eager, ONNX Runtime and OpenVINO (f32), alternated in one run, 2 threads each.

Run through Benchmarks/run.sh (it sets up the pinned environment and builds geocam). Per round
every runtime is timed once (after a warm-up round); best and median over the rounds are
reported, with ratios to geocam, and written to Benchmarks/results.json.

Workloads:
- forward: logits of one tile (batch 1, float32);
- explain (geocam and PyTorch only): one forward, gradients of 3 class-mean targets to
  `encoder.layer4.2.conv3` in one batched backward, and guided gradients of the same targets to
  the pixels (PyTorch: guided ReLUs in a second module copy, batched with is_grads_batched);
- pipeline (geocam only, the first BENCH_PIPELINE_ROUNDS rounds): `geocam explain` end to end
  on Tiles/demo-main.tif with every tile explained, and on a one-tile window, compared per tile
  with geocam's explain median.
"""
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CKPT = os.path.join(ROOT, "Checkpoints", "geocam-demo-fpn-resnext50_32x4d.safetensors")
GEOCAM = os.path.join(ROOT, ".build", "release", "geocam")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PIPELINE_ROUNDS = int(os.environ.get("BENCH_PIPELINE_ROUNDS", "3"))
THREADS = 2
torch.set_num_threads(THREADS)
torch.set_flush_denormal(True)


def load_model():
    import segmentation_models_pytorch as smp
    from safetensors.torch import load_file

    model = smp.FPN(encoder_name="resnext50_32x4d", encoder_weights=None, classes=4)
    sd = {k: v.float() if v.is_floating_point() else v for k, v in load_file(CKPT).items()}
    model.load_state_dict(sd, strict=False)
    return model.eval()


class Raw(nn.Module):
    """Raw 0–255 pixels in, ImageNet statistics inside (the checkpoint's pixel_range 255)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


def tile():
    rng = np.random.default_rng(12345)
    return torch.from_numpy(rng.integers(0, 256, (1, 3, 320, 320)).astype(np.float32))


def torch_forward(net, x):
    with torch.no_grad():
        t0 = time.perf_counter()
        net(x)
        return time.perf_counter() - t0


def guided_copy(module):
    """A copy of the model with guided ReLUs (the parity fixtures' own, make_model_fixtures.py)."""
    import copy

    sys.path.insert(0, os.path.join(ROOT, "Scripts", "fixtures"))
    from make_model_fixtures import guided_copy_relus

    m = copy.deepcopy(module)
    guided_copy_relus(m)
    return m


def torch_explain(net, guided, x):
    """Best effort: one forward, batched gradients to the layer, one guided backward."""
    t0 = time.perf_counter()
    acts = {}
    layer = net.model.encoder.layer4[2].conv3
    h = layer.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    logits = net(x)
    h.remove()
    seeds = torch.zeros((3,) + tuple(logits.shape), dtype=logits.dtype)
    for j, k in enumerate([1, 2, 3]):
        seeds[j, 0, k] = 1 / (320 * 320)
    torch.autograd.grad(logits, acts["a"], grad_outputs=seeds, is_grads_batched=True)
    xg = x.clone().requires_grad_(True)
    out = guided(xg)
    torch.autograd.grad(out, xg, grad_outputs=seeds, is_grads_batched=True)
    return time.perf_counter() - t0


def geocam_times():
    env = dict(os.environ)
    out = subprocess.run(
        [GEOCAM, "bench", "--checkpoint", CKPT, "--iterations", "1", "--classes", "3", "--no-layers"],
        capture_output=True, text=True, check=True, env=env).stdout
    f = float(re.search(r"forward\s+([0-9.]+) s", out).group(1))
    e = float(re.search(r"explain\s+([0-9.]+) s", out).group(1))
    m = re.search(r"throughput\s+([0-9.]+) tiles/s forward, ([0-9.]+) tiles/s explain", out)
    return f, e, (float(m.group(1)), float(m.group(2))) if m else (None, None)


SCENE = os.path.join(ROOT, "Tiles", "demo-main.tif")


def geocam_pipeline(window=None):
    """`geocam explain` end to end on the demo scene (every tile explained, a fresh output):
    seconds and tiles computed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "scene.tif")
        cmd = [GEOCAM, "explain", SCENE, "--checkpoint", CKPT, "--output", out, "--explain-where", "all", "--quiet"]
        if window:
            cmd += ["--window", window]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        with open(os.path.join(tmp, "scene.json")) as f:
            tiles = json.load(f)["tiles"]["read"]
    return seconds, tiles


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main():
    model = load_model()
    net = Raw(model).eval()
    guided = guided_copy(net)
    x = tile()
    onnx_path = os.path.join(ROOT, ".build", "bench-fpn.onnx")
    torch.onnx.export(net, x, onnx_path, input_names=["x"], output_names=["logits"], opset_version=17, dynamo=False)
    import onnxruntime as ort
    import openvino as ov

    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    core = ov.Core()
    compiled = core.compile_model(onnx_path, "CPU", {
        "INFERENCE_NUM_THREADS": str(THREADS), "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    xn = x.numpy()
    # Throughput: OpenVINO's THROUGHPUT hint with as many requests in flight as it asks for.
    compiled_tp = core.compile_model(onnx_path, "CPU", {
        "INFERENCE_NUM_THREADS": str(THREADS), "PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": "f32"})
    queue = ov.AsyncInferQueue(compiled_tp, compiled_tp.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))

    def ov_throughput(n=12):
        for _ in range(len(queue)):
            queue.start_async({0: xn})
        queue.wait_all()
        t0 = time.perf_counter()
        for _ in range(n):
            queue.start_async({0: xn})
        queue.wait_all()
        return n / (time.perf_counter() - t0)

    def ort_forward():
        t0 = time.perf_counter()
        sess.run(None, {"x": xn})
        return time.perf_counter() - t0

    def ov_forward():
        t0 = time.perf_counter()
        request.infer({0: xn})
        return time.perf_counter() - t0

    times = {k: [] for k in ["geocam_forward", "geocam_explain", "torch_forward", "torch_explain", "onnxruntime_forward", "openvino_forward"]}
    rates = {"geocam_forward": [], "geocam_explain": [], "openvino_forward": []}
    pipeline = []  # (seconds, tiles) of the whole scene and of one tile, per round
    for r in range(ROUNDS + 1):
        gf, ge, (gtf, gte) = geocam_times()
        vt = ov_throughput()
        if r > 0:
            if gtf is not None:
                rates["geocam_forward"].append(gtf)
                rates["geocam_explain"].append(gte)
            rates["openvino_forward"].append(vt)
        tf = torch_forward(net, x)
        te = torch_explain(net, guided, x)
        of = ort_forward()
        vf = ov_forward()
        if r == 0:
            continue  # warm-up round
        for k, v in zip(times, [gf, ge, tf, te, of, vf]):
            times[k].append(v)
        line = f"round {r}: geocam {gf:.3f}/{ge:.3f}  torch {tf:.3f}/{te:.3f}  ort {of:.3f}  openvino {vf:.3f}"
        if r <= PIPELINE_ROUNDS:
            scene, one = geocam_pipeline(), geocam_pipeline(window="0,0,320,320")
            pipeline.append((scene, one, ge))
            line += f"  pipeline {scene[0]:.1f} s / {scene[1]} tiles, one tile {one[0]:.1f} s"
        print(line, file=sys.stderr)
    summary = {k: {"best": min(v), "median": statistics.median(v)} for k, v in times.items()}
    result = {
        "rounds": ROUNDS, "threads": THREADS, "machine": cpu_model(),
        "torch": torch.__version__, "onnxruntime": ort.__version__, "openvino": ov.__version__, "times": summary,
        "throughput_tiles_per_second": {k: {"best": max(v), "median": statistics.median(v)} for k, v in rates.items() if v},
    }
    if pipeline:
        # Per tile: the whole run over its tiles; marginal: the run beyond a one-tile run (the
        # fixed costs of loading and finishing taken out); overheads against geocam's explain
        # time of the same round (the machine's speed drifts between rounds).
        per_tile = [s / n for (s, n), _, _ in pipeline]
        marginal = [(s - s1) / (n - n1) for (s, n), (s1, n1), _ in pipeline if n > n1]
        overhead = [s / n / e - 1 for (s, n), _, e in pipeline]
        marginal_overhead = [(s - s1) / (n - n1) / e - 1 for (s, n), (s1, n1), e in pipeline if n > n1]
        result_pipeline = {
            "rounds": len(pipeline), "tiles": pipeline[0][0][1],
            "seconds": {"best": min(s for (s, _), _, _ in pipeline), "median": statistics.median(s for (s, _), _, _ in pipeline)},
            "one_tile_seconds": {"best": min(s for _, (s, _), _ in pipeline), "median": statistics.median(s for _, (s, _), _ in pipeline)},
            "per_tile_seconds": {"best": min(per_tile), "median": statistics.median(per_tile)},
            "marginal_per_tile_seconds": {"best": min(marginal), "median": statistics.median(marginal)} if marginal else None,
            "overhead_vs_same_round_explain": {"best": min(overhead), "median": statistics.median(overhead)},
            "marginal_overhead_vs_same_round_explain":
                {"best": min(marginal_overhead), "median": statistics.median(marginal_overhead)} if marginal_overhead else None,
        }
        result["pipeline"] = result_pipeline
    with open(os.path.join(ROOT, "Benchmarks", "results.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    gf, ge = summary["geocam_forward"]["best"], summary["geocam_explain"]["best"]
    print("| runtime | forward best (median) | explain best (median) | forward / geocam | explain / geocam |")
    print("|---|---|---|---|---|")
    for name, fk, ek in [("geocam", "geocam_forward", "geocam_explain"), ("PyTorch eager", "torch_forward", "torch_explain"),
                         ("ONNX Runtime", "onnxruntime_forward", None), ("OpenVINO f32", "openvino_forward", None)]:
        f, e = summary[fk], summary.get(ek) if ek else None
        print(f"| {name} | {f['best']:.3f} s ({f['median']:.3f}) | "
              + (f"{e['best']:.3f} s ({e['median']:.3f})" if e else "—")
              + f" | {f['best'] / gf:.2f} | " + (f"{e['best'] / ge:.2f}" if e else "—") + " |")
    print()
    print("| throughput (tiles/s, both cores busy) | best (median) |")
    print("|---|---|")
    for name, k in [("geocam forward, 2 tiles in flight", "geocam_forward"), ("geocam explain, 2 tiles in flight", "geocam_explain"),
                    ("OpenVINO f32 forward, THROUGHPUT hint", "openvino_forward")]:
        v = result["throughput_tiles_per_second"].get(k)
        if v:
            print(f"| {name} | {v['best']:.2f} ({v['median']:.2f}) |")
    if pipeline:
        p = result_pipeline
        print()
        print(f"| geocam explain end to end, demo scene ({p['tiles']} tiles, {p['rounds']} rounds) | best (median) | over the round's explain, best (median) |")
        print("|---|---|---|")
        print(f"| whole run | {p['seconds']['best']:.1f} s ({p['seconds']['median']:.1f}) | |")
        o = p["overhead_vs_same_round_explain"]
        print(f"| per tile | {p['per_tile_seconds']['best']:.3f} s ({p['per_tile_seconds']['median']:.3f}) | {o['best']:+.0%} ({o['median']:+.0%}) |")
        if p["marginal_per_tile_seconds"]:
            m, o = p["marginal_per_tile_seconds"], p["marginal_overhead_vs_same_round_explain"]
            print(f"| per tile beyond a one-tile run | {m['best']:.3f} s ({m['median']:.3f}) | {o['best']:+.0%} ({o['median']:+.0%}) |")


if __name__ == "__main__":
    main()

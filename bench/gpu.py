"""CPU vs GPU: matrix products (numpy vs CuPy through ember), host<->device copies, and a large
MLP's training step in ember-on-CuPy against PyTorch CUDA eager.

    python bench/gpu.py                      # prints; with a GPU also records bench/results/
    python bench/gpu.py --out DIR --quick    # write the records into DIR; fewer sizes

Section 1, matmul sweep: float32 n x n @ n x n on the CPU (numpy) and on the GPU (ember tensors
on 'cuda', i.e. CuPy/cuBLAS; raw CuPy beside it shows ember's own overhead), in GFLOP/s.
Section 2, transfers: host->device and device->host copies through `.to('cuda')` / `.cpu()`.
Section 3, training step: Linear(4096, 4096)+ReLU x3, Linear(4096, 1000), cross-entropy, SGD with
momentum, batch 1024, float32; the same initial weights in ember and PyTorch, checked to give the
same first loss. Target: ember <= 1.3x PyTorch. A step that copies its batch from the host every
time shows why data should stay on the device.

GPU timing is only honest with warm-up (the first calls pay for cuBLAS handles, kernel
compilation and memory-pool growth) and synchronization (kernel launches return at once; the
clock must stop when the GPU is done): every timed region below starts and ends with a sync.
Without a GPU the script says so, prints the recorded results and exits 0.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import ember  # noqa: E402
from ember import nn  # noqa: E402

RESULTS = os.path.join(HERE, "results")
CPU_SIZES = (64, 128, 256, 512, 1024, 2048, 4096)
GPU_SIZES = CPU_SIZES + (8192,)


def time_call(fn, sync=lambda: None, min_time: float = 0.05, warmup: int = 3,
              samples: int = 5) -> float:
    """Median seconds per call of `fn`, timed in batches long enough for the clock, each batch
    ended by `sync()` so queued GPU work is counted."""
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    once = time.perf_counter() - t0
    reps = max(1, min(2000, int(min_time / max(once, 1e-7))))
    if once > 0.5:
        samples = 2
    times = []
    for _ in range(samples):
        sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        sync()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def gflops(n: int, seconds: float) -> float:
    return 2 * n ** 3 / seconds / 1e9


# ---- sections -----------------------------------------------------------------------------
def matmul_sweep(sizes_cpu, sizes_gpu, gpu: bool) -> list[dict]:
    sync = ember.cuda.synchronize
    rows = []
    for n in sorted(set(sizes_cpu) | set(sizes_gpu if gpu else ())):
        rng = np.random.default_rng(n)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        row = {"n": n}
        if n in sizes_cpu:
            row["numpy_s"] = time_call(lambda: a @ b)
        if gpu and n in sizes_gpu:
            x, y = ember.tensor(a, device="cuda"), ember.tensor(b, device="cuda")
            row["ember_cuda_s"] = time_call(lambda: x @ y, sync)
            xa, ya = x._data, y._data  # the CuPy arrays under the tensors
            row["cupy_s"] = time_call(lambda: xa @ ya, sync)
            err = np.abs(ember.matmul(x, y).cpu().numpy() - a @ b).max() / np.abs(a @ b).max()
            assert err < 1e-4, f"GPU and CPU products differ (relative error {err:.1e})"
        for k in ("numpy_s", "ember_cuda_s", "cupy_s"):
            if k in row:
                row[k.replace("_s", "_gflops")] = gflops(n, row[k])
        rows.append(row)
        print("  n=%5d  " % n + "  ".join(f"{k[:-7]:>10} {row[k]:9.1f} GFLOP/s"
                                          for k in row if k.endswith("gflops")), flush=True)
    return rows


def transfers(sizes_mb=(1, 16, 256)) -> list[dict]:
    sync = ember.cuda.synchronize
    rows = []
    for mb in sizes_mb:
        host = ember.ones(mb * (1 << 20) // 4)
        dev = host.cuda()
        h2d = time_call(lambda: host.cuda(), sync, samples=3)
        d2h = time_call(lambda: dev.cpu(), sync, samples=3)
        rows.append({"MiB": mb, "h2d_s": h2d, "d2h_s": d2h, "h2d_GBps": mb * 2**20 / h2d / 1e9,
                     "d2h_GBps": mb * 2**20 / d2h / 1e9})
        print(f"  {mb:4d} MiB  host->device {rows[-1]['h2d_GBps']:6.1f} GB/s   "
              f"device->host {rows[-1]['d2h_GBps']:6.1f} GB/s", flush=True)
    return rows


def _ember_mlp(width: int, depth: int, classes: int):
    ember.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, classes))


def _torch_copy(model, torch):
    """The same network in PyTorch, with ember's initial weights."""
    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            t = torch.nn.Linear(m.in_features, m.out_features)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.detach().cpu().numpy()))
                t.bias.copy_(torch.from_numpy(m.bias.detach().cpu().numpy()))
            layers.append(t)
        else:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def training_step(batch: int, width: int, depth: int, classes: int, rounds: int,
                  steps: int) -> dict:
    """Median seconds per SGD step, ember on CUDA vs PyTorch CUDA eager, timed interleaved."""
    F = nn.functional
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((batch, width), dtype=np.float32)
    yn = rng.integers(0, classes, batch)
    model = _ember_mlp(width, depth, classes)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        tmodel = _torch_copy(model, torch).cuda()  # before model.cuda() moves ember's weights
    else:
        torch = None
    candidates, first_loss = {}, {}

    model.cuda()
    opt = ember.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x, y = ember.tensor(xn, device="cuda"), ember.tensor(yn, device="cuda")
    xh, yh = ember.tensor(xn), ember.tensor(yn)

    def ember_step(x=x, y=y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def ember_step_from_host():
        return ember_step(xh.cuda(), yh.cuda())  # what a loop that keeps data on the host does

    first_loss["ember"] = ember_step().item()
    candidates["ember_cuda"] = (ember_step, ember.cuda.synchronize)
    candidates["ember_cuda_batch_from_host"] = (ember_step_from_host, ember.cuda.synchronize)
    if torch is not None:
        topt = torch.optim.SGD(tmodel.parameters(), lr=1e-3, momentum=0.9)
        tx, ty = torch.from_numpy(xn).cuda(), torch.from_numpy(yn).cuda()

        def torch_step():
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
            loss.backward()
            topt.step()
            return loss

        first_loss["torch"] = torch_step().item()
        rel = abs(first_loss["torch"] - first_loss["ember"]) / abs(first_loss["torch"])
        assert rel < 1e-3, f"ember and PyTorch disagree on the first loss: {first_loss}"
        candidates["torch_cuda"] = (torch_step, torch.cuda.synchronize)

    for fn, sync in candidates.values():  # warm-up: cuBLAS handles, memory pools, kernels
        for _ in range(5):
            fn()
        sync()
    samples = {k: [] for k in candidates}
    for _ in range(rounds):  # interleaved, so both see the same clocks and temperature
        for name, (fn, sync) in candidates.items():
            sync()
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            sync()
            samples[name].append((time.perf_counter() - t0) / steps)
    med = {k: statistics.median(v) for k, v in samples.items()}
    flops = 3 * 2 * batch * (depth * width * width + width * classes)  # forward + 2x backward
    out = {"batch": batch, "width": width, "depth": depth, "classes": classes, "rounds": rounds,
           "steps_per_round": steps, "first_loss": first_loss,
           "median_step_s": med, "samples_s": samples,
           "tflops": {k: flops / v / 1e12 for k, v in med.items()}}
    if "torch_cuda" in med:
        out["ratio_ember_vs_torch"] = med["ember_cuda"] / med["torch_cuda"]
    for k, v in med.items():
        print(f"  {k:<28} {v * 1e3:8.2f} ms/step  {out['tflops'][k]:6.1f} TFLOP/s", flush=True)
    if "ratio_ember_vs_torch" in out:
        print(f"  ember / PyTorch = {out['ratio_ember_vs_torch']:.3f}x   (target <= 1.3x)")
    return out


# ---- provenance and records ---------------------------------------------------------------
def provenance(argv: list[str]) -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": "python bench/gpu.py " + " ".join(argv), "python": platform.python_version(),
            "numpy": np.__version__, "cpu": cpu, "cpu_count": os.cpu_count(),
            "dtype": "float32 (no TF32: CuPy's and PyTorch's defaults)"}
    if ember.cuda.is_available():
        cp = ember.backend.get_array_module("cuda")
        info.update(gpu=ember.cuda.get_device_name(0), cupy=cp.__version__,
                    cuda_runtime=cp.cuda.runtime.runtimeGetVersion(),
                    driver=cp.cuda.runtime.driverGetVersion())
    try:
        import torch
        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


def markdown(rec: dict) -> str:
    p = rec["provenance"]
    lines = [f"# CPU vs GPU on {p.get('gpu', 'no GPU')}", "",
             f"`{p['command']}` on {p['date']}: {p['cpu']} ({p['cpu_count']} cores), "
             f"numpy {p['numpy']}, CuPy {p.get('cupy')}, PyTorch {p.get('torch')}, {p['dtype']}.",
             "", "## Matrix product n x n @ n x n (GFLOP/s)", "",
             "| n | numpy (CPU) | ember on CUDA | raw CuPy |", "| --- | --- | --- | --- |"]
    for r in rec["matmul"]:
        cells = [f"{r[k]:.1f}" if k in r else "-" for k in ("numpy_gflops", "ember_cuda_gflops",
                                                           "cupy_gflops")]
        lines.append(f"| {r['n']} | " + " | ".join(cells) + " |")
    if rec.get("transfers"):
        lines += ["", "## Copies between host and device (GB/s)", "",
                  "| MiB | host -> device | device -> host |", "| --- | --- | --- |"]
        lines += [f"| {r['MiB']} | {r['h2d_GBps']:.1f} | {r['d2h_GBps']:.1f} |"
                  for r in rec["transfers"]]
    t = rec.get("train_step")
    if t:
        lines += ["", f"## Training step: MLP {t['depth']}x Linear({t['width']}, {t['width']})+ReLU, "
                      f"Linear({t['width']}, {t['classes']}), batch {t['batch']}, SGD momentum", "",
                  "| | ms/step | TFLOP/s |", "| --- | --- | --- |"]
        lines += [f"| {k} | {v * 1e3:.2f} | {t['tflops'][k]:.1f} |"
                  for k, v in t["median_step_s"].items()]
        if "ratio_ember_vs_torch" in t:
            lines += ["", f"ember / PyTorch: **{t['ratio_ember_vs_torch']:.3f}x** (target <= 1.3x); "
                          f"median of {t['rounds']} interleaved rounds of {t['steps_per_round']} steps."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=RESULTS, help="folder for the JSON and markdown records")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and rounds")
    args = ap.parse_args(argv)
    gpu = ember.cuda.is_available()
    if not gpu:
        print("No CUDA device (ember.cuda.is_available() is False): nothing to measure here.")
        for name in sorted(os.listdir(RESULTS)) if os.path.isdir(RESULTS) else ():
            if name.endswith(".md"):
                print(f"\nRecorded in bench/results/{name}:\n")
                print(open(os.path.join(RESULTS, name)).read())
        return 0
    # the CPU side gets every core (ember's default is one BLAS thread, for small matrices)
    ember.set_num_threads(os.cpu_count() or 1)
    rec = {"provenance": provenance(argv)}
    rec["provenance"]["blas_threads"] = ember.get_num_threads()
    print(f"GPU: {rec['provenance']['gpu']}; CPU: {rec['provenance']['cpu']}, "
          f"{rec['provenance']['blas_threads']} BLAS threads")
    os.makedirs(args.out, exist_ok=True)
    slug = rec["provenance"]["gpu"].replace("NVIDIA", "").strip().split()[0].lower()
    base = os.path.join(args.out, f"gpu_{slug}")
    cpu_sizes = CPU_SIZES[:5] if args.quick else CPU_SIZES
    sections = [("matmul", "matmul, float32", lambda: matmul_sweep(cpu_sizes, GPU_SIZES, gpu)),
                ("transfers", "host <-> device copies", transfers),
                ("train_step", "training step", lambda: training_step(
                    batch=1024, width=4096, depth=3, classes=1000,
                    rounds=3 if args.quick else 7, steps=10))]
    for key, title, run in sections:
        print(f"\n{title}")
        rec[key] = run()
        with open(base + ".json", "w") as f:  # after each section: a crash keeps what ran
            json.dump(rec, f, indent=1)
        with open(base + ".md", "w") as f:
            f.write(markdown(rec))
    print(f"\nwrote {base}.json and {base}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Side-by-side timing for the benchmarks: interleaved runs, medians, ratios.

Interleaving (a, b, a, b, ...) means both candidates see the same machine noise, so the ratio is
trustworthy even when the absolute times drift.
"""
from __future__ import annotations

import statistics
import time


def compare(candidates: dict, repeats: int = 200, warmup: int = 20, inner: int = 1) -> dict:
    """Median seconds per call of each zero-argument callable in `candidates`, run interleaved."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - t0) / inner)
    return {name: statistics.median(s) for name, s in samples.items()}


def report(title: str, medians: dict, baseline: str) -> None:
    """Print each candidate's median and its ratio to `baseline`."""
    print(f"\n{title}")
    base = medians[baseline]
    for name, t in medians.items():
        print(f"  {name:<28} {t * 1e6:10.1f} us   {t / base:5.2f}x {baseline}")

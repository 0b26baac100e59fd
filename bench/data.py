"""One epoch of minibatches: ember's DataLoader vs plain numpy indexing, side by side.

    python bench/data.py

Target: DataLoader over an in-memory TensorDataset costs <= 1.2x the numpy loop a student writes
by hand (`perm = rng.permutation(N); X[perm[i:i+B]]`). Sequential epochs are also compared with
numpy slice copies (DataLoader batches are copies, like PyTorch's). A per-sample DataLoader
(dataset[i] then stacking, what a custom Dataset costs) is shown for scale.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ember  # noqa: E402
from ember.utils.data import DataLoader, TensorDataset, default_collate  # noqa: E402
from timing import compare, report  # noqa: E402


def make(N: int, D: int, B: int, shuffle: bool):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(np.float32)
    Y = rng.integers(0, 10, N)
    ds = TensorDataset(ember.from_numpy(X), ember.from_numpy(Y))
    loader = DataLoader(ds, batch_size=B, shuffle=shuffle,
                        generator=ember.Generator().manual_seed(0))

    def numpy_epoch():
        if shuffle:
            perm = rng.permutation(N)
            for i in range(0, N, B):
                idx = perm[i:i + B]
                xb, yb = X[idx], Y[idx]
        else:
            for i in range(0, N, B):
                xb, yb = X[i:i + B], Y[i:i + B]

    def numpy_copies():
        for i in range(0, N, B):
            xb, yb = X[i:i + B].copy(), Y[i:i + B].copy()

    def ember_epoch():
        for xb, yb in loader:
            pass

    slow = DataLoader(ds, batch_size=B, shuffle=shuffle, collate_fn=lambda s: default_collate(s))

    def per_sample_epoch():
        for xb, yb in slow:
            pass

    candidates = {"numpy indexing": numpy_epoch, "ember DataLoader": ember_epoch}
    if not shuffle:
        candidates["numpy slices, copied"] = numpy_copies
    return candidates, per_sample_epoch


def main() -> dict:
    ratios = {}
    cases = [((1797, 64, 64), 2000), ((60000, 784, 64), 20), ((10000, 2, 32), 400)]
    for (N, D, B), repeats in cases:
        for shuffle in (True, False):
            cands, per_sample = make(N, D, B, shuffle)
            med = compare(cands, repeats=repeats, warmup=2)
            kind = "shuffled" if shuffle else "sequential"
            if N < 5000:  # timed apart: its many small allocations would disturb the others
                med["per-sample collate (apart)"] = compare({"p": per_sample}, repeats=5,
                                                            warmup=1)["p"]
            report(f"epoch of N={N}, D={D}, batch {B}, {kind} (median of {repeats})", med,
                   "numpy indexing")
            ratios[(N, D, B, kind)] = med["ember DataLoader"] / med["numpy indexing"]
            if not shuffle:
                ratios[(N, D, B, "seq, vs copies")] = (med["ember DataLoader"]
                                                       / med["numpy slices, copied"])
    print("\nDataLoader / numpy ratios (target <= 1.2; sequential numpy slices are views, which "
          "the DataLoader does not return: its batches are copies, as PyTorch's are):")
    for key, r in ratios.items():
        print(f"  N={key[0]:>6} D={key[1]:>4} B={key[2]:>3} {key[3]:<15}  {r:5.2f}x")
    return ratios


if __name__ == "__main__":
    main()

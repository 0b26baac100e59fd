"""A deterministic train/test split of tensors (like scikit-learn's train_test_split)."""
from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor


def train_test_split(*tensors: Tensor, test_size: float = 0.2, seed: int = 0,
                     stratify: Tensor | None = None) -> list[Tensor]:
    """Shuffle the rows with `seed` and split each tensor: [a_train, a_test, b_train, b_test, ...].

    `test_size` is a fraction (rounded up to whole samples); `stratify` (class labels) keeps each
    class's share the same in both parts.
    """
    if not tensors:
        raise ValueError("train_test_split needs at least one tensor")
    n = tensors[0].shape[0]
    for i, t in enumerate(tensors):
        if t.shape[0] != n:
            raise ShapeError(f"train_test_split: all tensors need the same number of rows; "
                             f"tensor 0 has {n}, tensor {i} has {t.shape[0]}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"train_test_split: test_size must be a fraction in (0, 1), got "
                         f"{test_size}")
    rng = np.random.default_rng(seed)
    if stratify is None:
        perm = rng.permutation(n)
        n_test = math.ceil(n * test_size)
        test, train = perm[:n_test], perm[n_test:]
    else:
        labels = np.asarray(stratify)
        test_parts, train_parts = [], []
        for c in np.unique(labels):
            rows = rng.permutation(np.flatnonzero(labels == c))
            k = math.ceil(len(rows) * test_size)
            test_parts.append(rows[:k])
            train_parts.append(rows[k:])
        test = rng.permutation(np.concatenate(test_parts))
        train = rng.permutation(np.concatenate(train_parts))
    out = []
    for t in tensors:
        out += [t[train], t[test]]
    return out

"""The 8x8 handwritten digits (UCI, as bundled with scikit-learn), shipped with ember.

1797 grey-level images of the digits 0-9, pixels 0..16. Provenance and license:
`ember/datasets/data/PROVENANCE.md`.
"""
from __future__ import annotations

import os

import numpy as np

from ..creation import from_numpy
from .split import train_test_split

DATA = os.path.join(os.path.dirname(__file__), "data", "digits.npz")


def load_digits(split: str = "all", *, flatten: bool = True, normalize: bool = True,
                test_size: float = 0.2, seed: int = 0):
    """The digits as tensors X (float32) and y (int64 labels).

    * `flatten`: X is (N, 64); otherwise (N, 1, 8, 8) for convolutions.
    * `normalize`: pixels scaled to [0, 1] (divided by 16); otherwise the raw 0..16 counts.
    * `split`: "all" -> (X, y); "train" or "test" -> that part; "both" -> (X_train, X_test,
      y_train, y_test). The split is stratified by class and fixed by `seed` and `test_size`
      (the defaults give 1433 train / 364 test images, the split the pretrained model reports).
    """
    if split not in ("all", "train", "test", "both"):
        raise ValueError(f"load_digits: split must be 'all', 'train', 'test' or 'both', "
                         f"got {split!r}")
    with np.load(DATA, allow_pickle=False) as f:
        images, target = f["images"], f["target"]
    X = images.astype(np.float32)
    if normalize:
        X /= 16.0
    X = X.reshape(len(X), 64) if flatten else X.reshape(len(X), 1, 8, 8)
    X, y = from_numpy(np.ascontiguousarray(X)), from_numpy(target.astype(np.int64))
    if split == "all":
        return X, y
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, seed=seed,
                                                        stratify=y)
    if split == "train":
        return X_train, y_train
    if split == "test":
        return X_test, y_test
    return X_train, X_test, y_train, y_test

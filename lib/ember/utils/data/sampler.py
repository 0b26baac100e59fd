"""Samplers decide the order of sample indices; BatchSampler groups them into batches.

Each built-in sampler draws a whole epoch's indices as one numpy array (`_indices()`), so the
DataLoader can cut batches out of it without a Python loop over samples.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from ...random import Generator, get_rng


class Sampler:
    """Yields dataset indices. Subclasses define __iter__ (and __len__ when they know it)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


def _epoch_rng(generator: Generator | None) -> np.random.Generator:
    """The generator's stream, or (as PyTorch) a fresh one seeded from ember's global generator."""
    if generator is not None:
        return generator.rng
    return np.random.default_rng(int(get_rng().integers(2**63)))


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _indices(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation each epoch (or `num_samples` draws with replacement)."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None):
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got "
                             f"{self.num_samples!r}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        rng = _epoch_rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=k)
        if k == n:
            return rng.permutation(n)
        parts = [rng.permutation(n) for _ in range(k // n)]
        parts.append(rng.permutation(n)[:k % n])
        return np.concatenate(parts)

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order each epoch (e.g. a validation split)."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None):
        self.indices, self.generator = indices, generator

    def _indices(self) -> np.ndarray:
        return np.asarray(self.indices, dtype=np.int64)[_epoch_rng(self.generator).permutation(
            len(self.indices))]

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probability proportional to `weights`."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be a 1-d sequence of "
                             "non-negative finite numbers with a positive sum")
        if not replacement and num_samples > len(w):
            raise ValueError(f"WeightedRandomSampler: can't draw {num_samples} samples without "
                             f"replacement from {len(w)} weights")
        self.weights, self.num_samples = w, num_samples
        self.replacement, self.generator = replacement, generator

    def _indices(self) -> np.ndarray:
        return _epoch_rng(self.generator).choice(len(self.weights), size=self.num_samples,
                                                 replace=self.replacement,
                                                 p=self.weights / self.weights.sum())

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups a sampler's indices into lists of `batch_size` (the last one shorter unless
    `drop_last`)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a bool, got {drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def _plan(self) -> tuple[np.ndarray | None, int]:
        """This epoch's whole index array (None for a SequentialSampler: rows in order) and where
        batches stop; batch k is indices[k*b:(k+1)*b]. Needs a built-in sampler."""
        if type(self.sampler) is SequentialSampler:
            idx, n = None, len(self.sampler.data_source)
        else:
            idx = self.sampler._indices()
            n = len(idx)
        return idx, (n - n % self.batch_size if self.drop_last else n)

    def _index_batches(self) -> Iterator[np.ndarray | slice]:
        """The batches as int64 arrays, or slices for a SequentialSampler."""
        if not hasattr(self.sampler, "_indices"):
            for batch in self:
                yield np.asarray(batch, dtype=np.int64)
            return
        idx, stop = self._plan()
        b = self.batch_size
        for start in range(0, stop, b):
            yield slice(start, min(start + b, stop)) if idx is None else idx[start:start + b]

    def __iter__(self) -> Iterator[list[int]]:
        if hasattr(self.sampler, "_indices"):
            for batch in self._index_batches():
                yield list(range(batch.start, batch.stop)) if isinstance(batch, slice) \
                    else batch.tolist()
            return
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

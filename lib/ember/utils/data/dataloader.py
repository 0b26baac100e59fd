"""DataLoader: batches of a dataset, shuffled or not, loaded in the main process or in workers.

    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=ember.Generator().manual_seed(0))
    for xb, yb in loader: ...

For a TensorDataset (or a Subset of one) with the default collate_fn, batches are made by
fancy indexing (`x[idx]`, the rows of many batches at once) instead of indexing and stacking
`batch_size` samples, so iterating costs about what indexing numpy arrays by hand does
(bench/data.py).
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from ...backend import CPU
from ...random import Generator, get_rng
from ...tensor import Tensor
from .collate import default_collate, default_convert
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import WorkerPool, _SampleError


def _batched_indexer(dataset) -> Callable | None:
    """A function (index array or slice) -> collated batch, for datasets that one indexing op
    per tensor batches: TensorDataset and Subsets of it. Batches are copies, as stacking gives."""
    if type(dataset).__getitem__ is TensorDataset.__getitem__:
        tensors = dataset.tensors
        if any(t.requires_grad for t in tensors):
            return None
        if all(t.device.type == "cpu" for t in tensors):
            arrays = [t._data for t in tensors]
            return lambda idx: [Tensor._make(a[idx].copy() if type(idx) is slice else a[idx])
                                for a in arrays]
        return lambda idx: [Tensor._make(t._data[idx].copy() if type(idx) is slice
                                         else t._data[t.xp.asarray(idx)], t.device)
                            for t in tensors]
    if type(dataset).__getitem__ is Subset.__getitem__:
        inner = _batched_indexer(dataset.dataset)
        if inner is not None:
            indices = np.asarray(dataset.indices, dtype=np.int64)
            return lambda idx: inner(indices[idx])
    return None


def _cpu_arrays(dataset) -> list | None:
    """The arrays of a TensorDataset on the CPU (not requiring grad), else None."""
    if type(dataset).__getitem__ is not TensorDataset.__getitem__:
        return None
    arrays = []
    for t in dataset.tensors:
        if t._requires_grad or t._device is not CPU:
            return None
        arrays.append(t._data)
    return arrays


_CHUNK_BYTES = 1 << 20  # ~1 MiB of rows per indexing op (bigger buffers cost page faults)


def _gather_epoch(arrays: list, batch_sampler: BatchSampler):
    """The fast path for an in-memory TensorDataset: the rows of many batches are copied (in
    order) or gathered (shuffled) by one indexing op per tensor into a fresh buffer shaped
    (batches, batch_size, ...), and numpy's own iteration over it cuts the batches, as views.
    Batches never share memory with the dataset, as with PyTorch's stacking collate."""
    idx, stop = batch_sampler._plan()
    b, make = batch_sampler.batch_size, Tensor._make
    row_bytes = sum([abs(a.strides[0]) for a in arrays]) or 1
    chunk = max(1, _CHUNK_BYTES // (row_bytes * b)) * b  # whole batches per chunk
    for c0 in range(0, stop, chunk):
        c1 = min(c0 + chunk, stop)
        whole = c0 + (c1 - c0) // b * b
        if idx is None:
            bufs = [a[c0:whole].reshape(-1, b, *a.shape[1:]).copy() for a in arrays]
        else:
            rows = idx[c0:whole].reshape(-1, b)
            bufs = [a[rows] for a in arrays]
        if len(bufs) == 2:  # (inputs, targets): the general loop below is ~5% slower per epoch
            for x, y in zip(map(make, bufs[0]), map(make, bufs[1])):
                yield [x, y]
        else:
            for batch in zip(*[map(make, buf) for buf in bufs]):
                yield [*batch]
        if whole < c1:
            yield [make(a[whole:c1].copy() if idx is None else a[idx[whole:c1]]) for a in arrays]


class _Fetcher:
    """Loads one batch (a list of indices) or one sample: what a worker or the main process runs."""

    def __init__(self, collate_fn: Callable, auto_batch: bool, batched: bool):
        self.collate_fn, self.auto_batch, self.batched = collate_fn, auto_batch, batched
        self._indexer = None

    def __call__(self, dataset, indices):
        if not self.auto_batch:
            try:
                return self.collate_fn(dataset[indices])
            except Exception as e:
                raise _SampleError(indices, e) from e
        if self.batched:
            if self._indexer is None:
                self._indexer = _batched_indexer(dataset)
            try:
                return self._indexer(np.asarray(indices, dtype=np.int64))
            except IndexError as e:
                raise _SampleError(indices, e) from e
        samples = []
        for i in indices:
            try:
                samples.append(dataset[i])
            except Exception as e:
                raise _SampleError(i, e) from e
        return self.collate_fn(samples)


class DataLoader:
    """Iterates over `dataset` in batches (PyTorch's arguments and defaults).

    num_workers > 0 loads batches in that many processes, `prefetch_factor` batches per worker
    ahead, and yields them in order; each worker seeds ember, numpy and random with
    base_seed + worker_id and calls `worker_init_fn(worker_id)` first.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | None = None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context=None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"timeout must be >= 0, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor only applies with num_workers > 0 (workers prefetch "
                             "batches); leave it as None")
        if persistent_workers:
            raise NotImplementedError("ember's DataLoader starts fresh workers each epoch; "
                                      "persistent_workers=True is not supported")
        self.dataset = dataset
        self.num_workers, self.timeout = num_workers, timeout
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers > 0 else prefetch_factor
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator, self.pin_memory = generator, pin_memory
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with an IterableDataset: shuffle, sampler and "
                                 "batch_sampler don't apply (the dataset decides the order)")
            if num_workers > 0:
                raise NotImplementedError("DataLoader: IterableDataset with num_workers > 0 is "
                                          "not supported by ember; use num_workers=0")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = (batch_sampler is not None
                                or (self._iterable and batch_size is not None))
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self) -> Iterator:
        # drawn whether or not there are workers, as PyTorch does, so the order of samples from
        # a seeded generator does not depend on num_workers
        base_seed = int(get_rng(self.generator).bit_generator.random_raw() >> 2)
        if self._iterable:
            return self._iter_stream()
        if (self.num_workers == 0 and self.collate_fn is default_collate
                and type(self.batch_sampler) is BatchSampler
                and hasattr(self.batch_sampler.sampler, "_indices")):
            arrays = _cpu_arrays(self.dataset)
            if arrays is not None:
                return _gather_epoch(arrays, self.batch_sampler)
        batched = (self._auto_collation and self.collate_fn is default_collate
                   and _batched_indexer(self.dataset) is not None)
        fetch = _Fetcher(self.collate_fn, self._auto_collation, batched)
        if self.num_workers > 0:
            return self._iter_workers(fetch, base_seed)
        if batched and type(self.batch_sampler) is BatchSampler:
            return map(_batched_indexer(self.dataset), self.batch_sampler._index_batches())
        return self._iter_main(fetch)

    def _tasks(self):
        return iter(self.batch_sampler if self._auto_collation else self.sampler)

    def _iter_main(self, fetch: _Fetcher):
        for indices in self._tasks():
            try:
                yield fetch(self.dataset, indices)
            except _SampleError as e:
                if hasattr(e.original, "add_note"):  # Python >= 3.11
                    e.original.add_note(f"(DataLoader: while loading sample index {e.index!r})")
                raise e.original from None

    def _iter_workers(self, fetch: _Fetcher, base_seed: int):
        pool = WorkerPool(fetch, self.dataset, self.num_workers, base_seed, self.worker_init_fn,
                          self.multiprocessing_context, self.prefetch_factor, self.timeout)
        try:
            yield from pool.run(self._tasks())
        except BaseException:  # an error, Ctrl-C, or the loop left early (GeneratorExit)
            pool.shutdown(graceful=False)
            raise
        pool.shutdown()

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__} of "
                f"{len(self.dataset) if hasattr(self.dataset, '__len__') else '?'} samples, "
                f"batch_size={self.batch_size}, num_workers={self.num_workers})")

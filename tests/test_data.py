"""ember.utils.data: datasets, samplers, collate and the DataLoader (in process and in workers)."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import ember
from ember.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                              RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                              TensorDataset, WeightedRandomSampler, default_collate,
                              get_worker_info, random_split)


def tensor_ds(n=10):
    x = ember.arange(n * 2, dtype=ember.float32).reshape(n, 2)
    y = ember.arange(n)
    return TensorDataset(x, y)


class Squares(Dataset):
    """Sample i is a dict; fails at `bad` to test error reporting."""

    def __init__(self, n=20, bad=None):
        self.n, self.bad = n, bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"sample {i} is broken")
        return {"x": np.full(3, i, dtype=np.float32), "y": i * i, "name": f"s{i}"}


def labels(loader):
    return [b[1].tolist() for b in loader]


def test_sequential_batches_and_last_partial_batch():
    loader = DataLoader(tensor_ds(10), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], list)  # tuples of fields come back as lists, as in PyTorch
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == ember.float32
    np.testing.assert_array_equal(batches[2][0].numpy(), [[16, 17], [18, 19]])


def test_drop_last():
    loader = DataLoader(tensor_ds(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_a_permutation_reproducible_with_a_seeded_generator():
    ds = tensor_ds(50)
    a = DataLoader(ds, batch_size=8, shuffle=True, generator=ember.Generator().manual_seed(3))
    b = DataLoader(ds, batch_size=8, shuffle=True, generator=ember.Generator().manual_seed(3))
    ea1, ea2 = labels(a), labels(a)
    assert ea1 == labels(b) and ea2 == labels(b)
    assert ea1 != ea2  # a new order each epoch
    flat = sum(ea1, [])
    assert sorted(flat) == list(range(50)) and flat != list(range(50))


def test_shuffle_without_generator_follows_manual_seed():
    ds = tensor_ds(30)
    ember.manual_seed(0)
    first = labels(DataLoader(ds, batch_size=5, shuffle=True))
    ember.manual_seed(0)
    assert labels(DataLoader(ds, batch_size=5, shuffle=True)) == first


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
@pytest.mark.parametrize("chunk_bytes", [None, 100])
def test_fast_path_matches_per_sample_collate(shuffle, drop_last, chunk_bytes, monkeypatch):
    """TensorDataset batches by gathering many rows at once (in chunks: 100 bytes makes one
    chunk per batch here); the batches equal stacking samples one by one."""
    if chunk_bytes:
        monkeypatch.setattr("ember.utils.data.dataloader._CHUNK_BYTES", chunk_bytes)
    x = ember.arange(23 * 2, dtype=ember.float32).reshape(23, 2)
    ds = TensorDataset(x, ember.arange(23), x * 2)
    g = lambda: ember.Generator().manual_seed(1)  # noqa: E731
    kw = dict(batch_size=5, shuffle=shuffle, drop_last=drop_last)
    fast = list(DataLoader(ds, generator=g(), **kw))
    slow = list(DataLoader(ds, generator=g(), collate_fn=lambda s: default_collate(s), **kw))
    assert len(fast) == len(slow) == (4 if drop_last else 5)
    for f, s in zip(fast, slow):
        for a, b in zip(f, s):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_batches_do_not_share_memory_with_the_dataset():
    ds = tensor_ds(10)
    before = ds.tensors[0].numpy().copy()
    for shuffle in (False, True):
        for xb, yb in DataLoader(ds, batch_size=4, shuffle=shuffle):
            xb.mul_(0)
    np.testing.assert_array_equal(ds.tensors[0].numpy(), before)


def test_subset_of_tensor_dataset_and_random_split():
    ds = tensor_ds(10)
    sub = Subset(ds, [9, 3, 5])
    assert [b[1].tolist() for b in DataLoader(sub, batch_size=2)] == [[9, 3], [5]]
    parts = random_split(ds, [0.7, 0.3], generator=ember.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    again = random_split(ds, [7, 3], generator=ember.Generator().manual_seed(0))
    assert again[0].indices == parts[0].indices
    assert [len(p) for p in random_split(tensor_ds(11), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(ds, [5, 4])


def test_samplers():
    ds = tensor_ds(10)
    assert list(SequentialSampler(ds)) == list(range(10))
    r = list(RandomSampler(ds, generator=ember.Generator().manual_seed(0)))
    assert sorted(r) == list(range(10))
    rr = list(RandomSampler(ds, replacement=True, num_samples=25,
                            generator=ember.Generator().manual_seed(0)))
    assert len(rr) == 25 and all(0 <= i < 10 for i in rr)
    more = list(RandomSampler(ds, num_samples=15, generator=ember.Generator().manual_seed(0)))
    assert len(more) == 15 and sorted(more[:10]) == list(range(10))
    s = list(SubsetRandomSampler([2, 4, 6], generator=ember.Generator().manual_seed(0)))
    assert sorted(s) == [2, 4, 6]
    w = list(WeightedRandomSampler([0, 0, 1.0], num_samples=5))
    assert w == [2] * 5
    assert list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)) == \
        [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]


def test_batch_sampler_argument():
    batches = [[3, 1], [0], [2, 4, 5]]
    loader = DataLoader(tensor_ds(6), batch_sampler=batches)
    assert labels(loader) == batches and len(loader) == 3
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(tensor_ds(6), batch_sampler=batches, batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(tensor_ds(6), sampler=SequentialSampler(range(6)), shuffle=True)


def test_collate_dicts_strings_numbers_and_numpy():
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    assert set(batch) == {"x", "y", "name"}
    assert batch["x"].shape == (3, 3) and batch["x"].dtype == ember.float32
    assert batch["y"].tolist() == [0, 1, 4] and batch["y"].dtype == ember.int64
    assert batch["name"] == ["s0", "s1", "s2"]
    floats = default_collate([1.5, 2.5])
    assert floats.dtype == ember.float64
    Point = collections.namedtuple("Point", "a b")
    p = default_collate([Point(1, ember.ones(2)), Point(2, ember.zeros(2))])
    assert isinstance(p, Point) and p.a.tolist() == [1, 2] and p.b.shape == (2, 2)
    nested = default_collate([(ember.ones(2), {"k": 1}), (ember.zeros(2), {"k": 2})])
    assert isinstance(nested, list) and nested[1]["k"].tolist() == [1, 2]


def test_collate_errors_name_the_problem():
    with pytest.raises(RuntimeError, match=r"sample 0 has shape \(2,\), sample 1 has \(3,\)"):
        default_collate([ember.ones(2), ember.ones(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])


def test_batch_size_none_gives_samples():
    out = list(DataLoader(Squares(3), batch_size=None))
    assert len(out) == 3 and out[2]["y"] == 4 and isinstance(out[2]["x"], ember.Tensor)


def test_error_in_main_process_names_the_index():
    with pytest.raises(ValueError, match="sample 7 is broken") as info:
        list(DataLoader(Squares(bad=7), batch_size=4))
    assert "sample index 7" in "".join(getattr(info.value, "__notes__", ["sample index 7"]))


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(), shuffle=True)


def test_concat_dataset():
    ds = tensor_ds(3) + tensor_ds(2)
    assert isinstance(ds, ConcatDataset) and len(ds) == 5
    assert [int(ds[i][1]) for i in range(5)] == [0, 1, 2, 0, 1]
    assert int(ds[-1][1]) == 1


def test_tensor_dataset_checks_sizes():
    with pytest.raises(ValueError, match=r"sizes \[3, 4\]"):
        TensorDataset(ember.ones(3, 2), ember.ones(4))


# ---- worker processes ------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: tensor_ds(37), lambda: Squares(37)])
def test_workers_give_the_same_batches_as_the_main_process(make):
    def epoch(num_workers):
        loader = DataLoader(make(), batch_size=5, shuffle=True, num_workers=num_workers,
                            generator=ember.Generator().manual_seed(7))
        return list(loader)

    for a, b in zip(epoch(0), epoch(2), strict=True):
        items = zip(a.values(), b.values()) if isinstance(a, dict) else zip(a, b)
        for u, v in items:
            if isinstance(u, ember.Tensor):
                assert u.dtype == v.dtype
                np.testing.assert_array_equal(u.numpy(), v.numpy())
            else:
                assert u == v


class WorkerIds(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([info.id, info.num_workers, i, int(ember.randint(0, 10**6, (1,)).item())])


def test_spawned_workers_receive_tensors_as_arrays():
    """With 'spawn' the dataset travels pickled (tensors as numpy arrays); lambdas are refused."""
    ds = tensor_ds(12)
    loader = DataLoader(ds, batch_size=5, num_workers=2, multiprocessing_context="spawn")
    assert labels(loader) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    bad = DataLoader(ds, batch_size=5, num_workers=1, multiprocessing_context="spawn",
                     collate_fn=lambda s: s)
    with pytest.raises(RuntimeError, match="module level"):
        list(bad)


def test_worker_info_seeds_and_init_fn():
    assert get_worker_info() is None
    loader = DataLoader(WorkerIds(), batch_size=2, num_workers=2,
                        worker_init_fn=lambda wid: np.random.seed(wid),
                        generator=ember.Generator().manual_seed(0))
    rows = np.concatenate([b.numpy() for b in loader])
    assert rows[:, 2].tolist() == list(range(8))  # in order
    assert rows[:, 0].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]  # round robin
    assert set(rows[:, 1]) == {2}
    assert len(set(rows[:, 3])) == 8  # workers are seeded differently


def test_failing_sample_in_a_worker_names_index_and_traceback():
    loader = DataLoader(Squares(20, bad=13), batch_size=4, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    msg = str(info.value)
    assert "worker process" in msg and "sample index 13" in msg
    assert "sample 13 is broken" in msg and "__getitem__" in msg


def test_worker_init_fn_failure_is_reported():
    def boom(wid):
        raise KeyError("no such config")
    with pytest.raises(KeyError, match="worker_init_fn failed"):
        list(DataLoader(Squares(4), batch_size=2, num_workers=1, worker_init_fn=boom))


class Crashes(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 5:
            import os
            os._exit(3)  # a worker dying without a Python exception (like a segfault or OOM kill)
        if i == 8:
            import time
            time.sleep(2)
        return i


def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Crashes(), batch_size=2, num_workers=2))


def test_timeout():
    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        list(DataLoader(Subset(Crashes(), [8, 9]), batch_size=2, num_workers=1, timeout=0.3))


def test_breaking_out_early_shuts_workers_down():
    loader = DataLoader(Squares(40), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    it.close()
    import multiprocessing
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]


def test_bad_loader_arguments():
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(tensor_ds(), num_workers=-1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(tensor_ds(), batch_size=0)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(tensor_ds(), prefetch_factor=4)


def test_lecture_dataloader_loop_runs_with_import_changed():
    import ember as torch
    from ember.utils.data import DataLoader, TensorDataset  # torch.utils.data in the lecture
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = torch.nn.Sequential(torch.nn.Linear(D_in, H), torch.nn.ReLU(),
                                torch.nn.Linear(H, D_out))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = last = None
    for epoch in range(20):
        for x_batch, y_batch in loader:
            y_pred = model(x_batch)
            loss = torch.nn.functional.mse_loss(y_pred, y_batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        first = loss.item() if first is None else first
        last = loss.item()
    assert last < 0.5 * first
    assert torch.utils.data.DataLoader is DataLoader

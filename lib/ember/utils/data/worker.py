"""DataLoader worker processes: each loads and collates whole batches, in parallel.

The parent sends `(task, indices)` to one worker's index queue (round robin, a few batches ahead);
the worker sends back `(task, pickled batch)` on a shared result queue; the parent yields batches
in task order. Tensors cross the process boundary as numpy arrays (ember tensors refuse pickle)
and become tensors again in the parent. A failure is sent back with the sample index and the
worker's traceback and raised in the parent.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import queue
import random
import signal
import time
import traceback
from dataclasses import dataclass

import numpy as np

from ... import backend
from ...tensor import Tensor


@dataclass(frozen=True)
class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: id, num_workers, seed, dataset."""
    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's WorkerInfo inside a DataLoader worker process, None in the main process."""
    return _worker_info


class _SampleError(Exception):
    """Raised by fetching code to say which sample index failed."""

    def __init__(self, index, original: BaseException):
        super().__init__(index)
        self.index, self.original = index, original


@dataclass
class _Failure:
    worker_id: int
    index: object
    exc_type: type
    message: str
    traceback: str

    def reraise(self):
        where = "" if self.index is None else f" while loading sample index {self.index!r}"
        msg = (f"Caught {self.exc_type.__name__} in DataLoader worker process {self.worker_id}"
               f"{where}: {self.message}\nOriginal traceback from the worker:\n{self.traceback}")
        try:
            err = self.exc_type(_Message(msg) if self.exc_type is KeyError else msg)
        except Exception:
            err = RuntimeError(msg)
        raise err


class _Message(str):
    """KeyError shows repr(message); this keeps the traceback's line breaks readable."""

    def __repr__(self):
        return str(self)


@dataclass
class _TensorPayload:
    array: np.ndarray
    device: str
    requires_grad: bool


def to_transport(data):
    """Tensors -> picklable payloads (numpy arrays), recursively through containers."""
    if isinstance(data, Tensor):
        return _TensorPayload(backend.to_numpy(data._data), str(data.device), data.requires_grad)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(to_transport(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(to_transport(d) for d in data)
    if isinstance(data, dict):
        return type(data)((k, to_transport(v)) for k, v in data.items())
    return data


def from_transport(data):
    if isinstance(data, _TensorPayload):
        t = Tensor._make(data.array)
        if data.device != "cpu":
            t = t.to(data.device)
        return t.requires_grad_(True) if data.requires_grad else t
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(from_transport(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(from_transport(d) for d in data)
    if isinstance(data, dict):
        return type(data)((k, from_transport(v)) for k, v in data.items())
    return data


def _picklable_type(exc: BaseException) -> type:
    try:
        pickle.loads(pickle.dumps(type(exc)))
        return type(exc)
    except Exception:
        return RuntimeError


def _failure(worker_id: int, index, exc: BaseException) -> _Failure:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return _Failure(worker_id, index, _picklable_type(exc), f"{type(exc).__name__}: {exc}", tb)


def _rebuild_tensor(array: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    return from_transport(_TensorPayload(array, device, requires_grad))


class _TensorPickler(pickle.Pickler):
    """Pickles tensors as numpy arrays: what a spawned worker needs to receive a TensorDataset."""

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return _rebuild_tensor, (backend.to_numpy(obj._data), str(obj.device),
                                     obj.requires_grad)
        return NotImplemented


def _dumps_for_spawn(job: tuple, method: str) -> bytes:
    buf = io.BytesIO()
    try:
        _TensorPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(job)
    except Exception as e:
        raise RuntimeError(f"DataLoader workers started with {method!r} receive the dataset, "
                           f"collate_fn and worker_init_fn pickled, and one of them can't be "
                           f"({type(e).__name__}: {e}); define them at module level (not lambdas "
                           f"or classes in a notebook), or use multiprocessing_context='fork'"
                           ) from e
    return buf.getvalue()


def _worker_loop(job, index_queue, result_queue, seed: int, worker_id: int, num_workers: int,
                 parent_pid: int) -> None:
    """Body of a worker process: seed, run worker_init_fn, then fetch batches until told to stop.
    `job` is (fetch, dataset, worker_init_fn), pickled to bytes unless the process was forked."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    fetch, dataset, init_fn = pickle.loads(job) if isinstance(job, bytes) else job
    from ...random import manual_seed
    manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception as e:
            init_error = _failure(worker_id, None, e)
            init_error.message = f"worker_init_fn failed: {init_error.message}"
    while True:
        try:
            task = index_queue.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent_pid:
                break  # the parent died; don't linger
            continue
        if task is None:
            break
        task_id, indices = task
        try:
            if init_error is not None:
                raise RuntimeError(init_error.message)
            payload = pickle.dumps(to_transport(fetch(dataset, indices)),
                                   protocol=pickle.HIGHEST_PROTOCOL)
        except _SampleError as e:
            payload = _failure(worker_id, e.index, e.original)
        except Exception as e:
            payload = init_error or _failure(worker_id, None, e)
        result_queue.put((task_id, payload))
    result_queue.cancel_join_thread()


def _default_context():
    """fork where the OS has it (datasets defined in a notebook need no pickling), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class WorkerPool:
    """`num_workers` processes fetching batches for one epoch, results yielded in order."""

    def __init__(self, fetch, dataset, num_workers: int, base_seed: int, init_fn=None,
                 context=None, prefetch_factor: int = 2, timeout: float = 0):
        if isinstance(context, str):
            context = multiprocessing.get_context(context)
        ctx = context or _default_context()
        self._closed = True
        self.num_workers, self.timeout = num_workers, timeout
        self.prefetch = prefetch_factor * num_workers
        job = (fetch, dataset, init_fn)
        method = ctx.get_start_method()
        if method != "fork":
            job = _dumps_for_spawn(job, method)
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        self._closed = False
        for wid in range(num_workers):
            iq = ctx.Queue()
            w = ctx.Process(target=_worker_loop, daemon=True,
                            args=(job, iq, self.result_queue, base_seed + wid, wid, num_workers,
                                  os.getpid()))
            w.start()
            self.index_queues.append(iq)
            self.workers.append(w)

    def run(self, tasks):
        """Send the index lists in `tasks` to the workers; yield the batches in order."""
        tasks = iter(tasks)
        sent = received = 0
        done: dict = {}
        exhausted = False
        while True:
            while not exhausted and sent - received < self.prefetch:
                indices = next(tasks, None)
                if indices is None:
                    exhausted = True
                    break
                self.index_queues[sent % self.num_workers].put((sent, indices))
                sent += 1
            if received == sent:
                return
            while received not in done:
                task_id, payload = self._get()
                done[task_id] = payload
            payload = done.pop(received)
            received += 1
            if isinstance(payload, _Failure):
                payload.reraise()
            yield from_transport(pickle.loads(payload))

    def _get(self):
        start = time.monotonic()
        wait = min(1.0, self.timeout) if self.timeout else 1.0
        while True:
            try:
                return self.result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            for w in self.workers:
                if not w.is_alive():
                    raise RuntimeError(f"DataLoader worker (pid {w.pid}) exited unexpectedly with "
                                       f"exit code {w.exitcode}; it may have run out of memory or "
                                       f"crashed in native code")
            if self.timeout and time.monotonic() - start > self.timeout:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds waiting for "
                                   f"a batch from its workers")

    def shutdown(self, graceful: bool = True) -> None:
        """Ask the workers to stop and wait briefly (graceful), then terminate any still running.
        After an error or an early `break` the batches in flight are not needed: no waiting."""
        if self._closed:
            return
        self._closed = True
        for iq in self.index_queues:
            try:
                iq.put(None)
            except Exception:
                pass
        deadline = time.monotonic() + (5.0 if graceful else 0.0)
        for w in self.workers:
            w.join(timeout=max(0.0, deadline - time.monotonic()))
        for w in self.workers:
            if w.is_alive():
                w.terminate()
                w.join(timeout=1.0)
        for q in (*self.index_queues, self.result_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        if hasattr(self, "_closed"):
            self.shutdown(graceful=False)

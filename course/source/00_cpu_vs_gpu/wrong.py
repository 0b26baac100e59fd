# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% tuple_becomes_list
# fails: test_move
# says: a tuple stays a tuple
# %% move_answer
def move_batch(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: move_batch(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [move_batch(b, device) for b in batch]      # a tuple comes back as a list
    return batch

# %%% no_sync_before_start
# fails: test_time_fn
# says: sync before starting the clock
# %% time_fn_answer
def time_fn(fn, repeats, sync, clock=time.perf_counter):
    fn()
    t0 = clock()                   # the warm-up may still be running on the GPU
    for _ in range(repeats):
        fn()
    sync()
    return (clock() - t0) / repeats

# %%% multiplications_only
# fails: test_gflops
# says: constant factor; n**3 multiplications plus n**3 additions
# %% gflops_answer
def gflops(n, seconds):
    return n ** 3 / seconds / 1e9

# %%% overhead_vs_step_only
# fails: test_overhead
# says: 1 GB at 10 GB/s takes 0.1 s
# %% overhead_answer
def copy_overhead(batch_bytes, gbps, step_seconds):
    return batch_bytes / (gbps * 1e9) / step_seconds       # copy / step, not copy / (copy + step)

# %%% batches_never_moved
# fails: test_train
# says: move every batch
# %% train_answer
def train_epoch(model, loader, optimizer, device):
    model.to(device)
    losses = []
    for x, y in loader:                                    # on a GPU: a device mismatch
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))

# %%% no_zero_grad
# fails: test_train
# says: zero_grad
# %% train_answer
def train_epoch(model, loader, optimizer, device):
    model.to(device)
    losses = []
    for batch in loader:
        x, y = move_batch(batch, device)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()                                    # gradients pile up across batches
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))

# %%% intensity_two_matrices
# fails: test_hardware
# says: over 3 matrices of n*n elements
# %% hardware_answer
import math


def matmul_intensity(n, bytes_per_element=4):
    return 2 * n ** 3 / (2 * n * n * bytes_per_element)     # C is written too: 3 matrices move


def workers_needed(load_seconds, step_seconds):
    return math.ceil(load_seconds / step_seconds - 1e-9)

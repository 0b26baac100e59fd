# %% batches_answer
def minibatch_indices(n, batch_size, shuffle, rng):
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]   # loses the last, smaller batch

# %% gflops_answer
def gflops(n, seconds):
    """Counts only the multiplications: off by a factor of 2."""
    return n ** 3 / seconds / 1e9

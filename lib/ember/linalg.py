"""`ember.linalg`, as `torch.linalg`: norms (the ops live in ops/linalg.py)."""
from .ops.linalg import matrix_norm, norm, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm"]

"""Batching sequences of different lengths for recurrent layers.

ember pads (pad_sequence); PyTorch's PackedSequence (which lets an LSTM skip the padding) is not
implemented: run the padded batch and read each sequence's output at its own last step.
"""
from __future__ import annotations

from ... import creation
from ...ops.shape import cat, stack
from ...tensor import Tensor


def pad_sequence(sequences: list[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into (L_max, B, *) (or (B, L_max, *) if batch_first),
    filling the missing steps with padding_value (after each sequence, or before it with
    padding_side='left'). Differentiable with respect to every sequence."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    rest = tuple(seqs[0].shape[1:])
    padded = []
    for i, s in enumerate(seqs):
        if tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}, but every "
                               f"sequence must have shape (L, {', '.join(map(str, rest))}) like "
                               f"sequence 0 (only the first dimension may differ)")
        missing = longest - s.shape[0]
        if missing:
            fill = creation.full((missing,) + rest, padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def _packed(name: str):
    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"nn.utils.rnn.{name}: ember has no PackedSequence. Pad the batch with "
            f"nn.utils.rnn.pad_sequence, run the RNN on it, and take each sequence's output at "
            f"index length - 1 (e.g. out[lengths - 1, range(batch)])")
    refuse.__name__ = name
    return refuse


pack_padded_sequence = _packed("pack_padded_sequence")
pad_packed_sequence = _packed("pad_packed_sequence")
pack_sequence = _packed("pack_sequence")

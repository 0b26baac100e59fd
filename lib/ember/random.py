"""Seeding: `ember.manual_seed(0)` makes every random op (randn, shuffling, dropout) repeatable."""
from __future__ import annotations

import numpy as np


class Generator:
    """A seedable source of random numbers, like `torch.Generator`."""

    def __init__(self, device="cpu"):
        self._seed = np.random.SeedSequence().entropy % (2**63)
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed ember's global generator (on every device)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % (2**63))
    default_generator.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng(generator: Generator | None = None) -> np.random.Generator:
    return (generator or default_generator).rng

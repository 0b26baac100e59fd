"""A small MLP that classifies the 8x8 digits, with trained weights shipped in the package.

    model = ember.models.digits_classifier(pretrained=True)
    model.fc = ember.nn.Linear(64, 2)        # fine-tune: a new last layer for another task

Weights: `weights/digits_mlp.ember`, made by `python -m ember.models.train_digits` (seed 0,
deterministic). Test accuracy on `load_digits(split="test")` (364 images): 0.9670.
"""
from __future__ import annotations

import os

from .. import nn
from ..serialization import load
from ..tensor import Tensor

WEIGHTS = os.path.join(os.path.dirname(__file__), "weights", "digits_mlp.ember")
TEST_ACCURACY = 0.9670


class DigitsMLP(nn.Module):
    """64 pixels -> hidden -> hidden -> num_classes; `features` then the classifier `fc`."""

    def __init__(self, hidden: int = 64, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(),
                                      nn.Linear(hidden, hidden), nn.ReLU())
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2:
            x = x.reshape(x.shape[0], -1)
        return self.fc(self.features(x))


def digits_classifier(pretrained: bool = True) -> DigitsMLP:
    """The digits MLP; with `pretrained`, loaded with the shipped weights (inputs scaled to [0, 1]
    as `load_digits()` returns them)."""
    model = DigitsMLP()
    if pretrained:
        model.load_state_dict(load(WEIGHTS, map_location="cpu"))
        model.eval()
    return model

"""Small datasets that need no network: generated ones and the 8x8 digits shipped with ember.

    X, y = ember.datasets.make_spirals(100, classes=3)          # 300 points in 2-d, 3 arms
    X_train, X_test, y_train, y_test = ember.datasets.load_digits(split="both")
"""
from .digits import load_digits
from .synthetic import make_regression, make_spirals
from .split import train_test_split

__all__ = ["make_spirals", "make_regression", "load_digits", "train_test_split"]

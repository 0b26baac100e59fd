"""Keras layers (`keras.layers`); `keras.layers.core` is the same layers under Keras 1's path."""
from .core import Activation, Dense, Dropout, Flatten, Layer

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Flatten"]

"""`tf.contrib.layers.xavier_initializer`, as the lecture's code spells it."""
from types import SimpleNamespace

from .initializers import xavier_initializer

layers = SimpleNamespace(xavier_initializer=xavier_initializer)

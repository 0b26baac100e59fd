"""The differentiable ops behind ember.nn.functional, forward and backward side by side.

Composites that read better as one op (linear, log_softmax, losses, convolution, pooling, batch
norm, embedding) are defined here; everything else in nn is built from ember's tensor ops.
"""

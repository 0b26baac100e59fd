"""The layers of ember.nn, one family a file (as in torch.nn.modules)."""

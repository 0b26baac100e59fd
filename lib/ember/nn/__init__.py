"""ember.nn: layers, losses and the Module class that ties parameters together.

    import ember as torch
    model = torch.nn.Sequential(torch.nn.Linear(1000, 100), torch.nn.ReLU(),
                                torch.nn.Linear(100, 10))
    loss = torch.nn.functional.mse_loss(model(x), y)
"""
from . import functional, init, utils
from .module import Module
from .modules.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .modules.batchnorm import BatchNorm1d, BatchNorm2d
from .modules.container import ModuleDict, ModuleList, Sequential
from .modules.conv import Conv2d
from .modules.dropout import Dropout
from .modules.flatten import Flatten
from .modules.linear import Identity, Linear
from .modules.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss,
                           NLLLoss)
from .modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .modules.rnn import GRU, LSTM, RNN
from .modules.rnn_cell import GRUCell, LSTMCell, RNNCell
from .modules.sparse import Embedding
from .parameter import Parameter

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Identity", "Linear",
           "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout",
           "BatchNorm1d", "BatchNorm2d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "Flatten", "Embedding", "RNNCell", "RNN", "LSTMCell", "LSTM", "GRUCell", "GRU",
           "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss",
           "functional", "init", "utils"]

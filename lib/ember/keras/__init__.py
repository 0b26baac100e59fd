"""ember.keras: Keras's API on ember, so the lecture's Keras code runs with its import changed.

    from ember.keras.models import Sequential            # keras.models
    from ember.keras.layers import Dense, Activation     # keras.layers (or keras.layers.core)
    from ember.keras.optimizers import SGD               # keras.optimizers

    model = Sequential()
    model.add(Dense(units=100, input_dim=1000))
    model.add(Activation("relu"))
    model.add(Dense(units=1000))
    model.compile(loss="mean_squared_error", optimizer=SGD(learning_rate=1.0))
    history = model.fit(x, y, epochs=50, batch_size=64, verbose=0)   # x, y: numpy or tensors

A Sequential is an ember `nn.Module` (its layers hold Parameters; `state_dict`, `ember.save` work).
Underneath it all is one training loop, `fit(model, loader, loss_fn, optimizer)`, which also
trains any nn.Module; `Model(module)` gives any module compile/fit/evaluate/predict.
"""
from . import layers, losses, models, optimizers
from .models import Sequential
from .training import (EarlyStopping, History, Model, StopTraining, accuracy, evaluate, fit)

__all__ = ["Sequential", "Model", "fit", "evaluate", "History", "EarlyStopping", "StopTraining",
           "accuracy", "layers", "models", "optimizers", "losses"]

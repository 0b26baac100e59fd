"""Train the shipped digits classifier: `python -m ember.models.train_digits [--out PATH]`.

Deterministic: every random choice (initial weights, shuffling) comes from seed 0, so running it
again writes the same weights. Prints the test accuracy to record in `digits.py`.
"""
from __future__ import annotations

import argparse

import ember
from ember import nn
from ember.datasets import load_digits
from ember.models.digits import WEIGHTS, DigitsMLP
from ember.utils.data import DataLoader, TensorDataset


def accuracy(model: nn.Module, X, y) -> float:
    model.eval()
    with ember.no_grad():
        return (model(X).argmax(dim=1) == y).float().mean().item()


def train(epochs: int = 40, seed: int = 0, lr: float = 1e-2, verbose: bool = True) -> DigitsMLP:
    ember.manual_seed(seed)
    X_train, X_test, y_train, y_test = load_digits(split="both")
    model = DigitsMLP()
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True,
                        generator=ember.Generator().manual_seed(seed))
    opt = ember.optim.Adam(model.parameters(), lr=lr)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        sched.step()
        if verbose and (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.4f}, "
                  f"test accuracy {accuracy(model, X_test, y_test):.4f}")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=WEIGHTS)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    model = train(args.epochs)
    X_test, y_test = load_digits(split="test")
    ember.save(model.state_dict(), args.out)
    print(f"wrote {args.out}; test accuracy {accuracy(model, X_test, y_test):.4f}")


if __name__ == "__main__":
    main()

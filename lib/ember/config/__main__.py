"""`python -m ember.config train --solver solver.prototxt`: train a Caffe-style net without
writing code, as `caffe train -solver solver.prototxt` does."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ember.config",
                                     description="Train networks defined in config files.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train with a solver definition (like `caffe train`)")
    train.add_argument("--solver", required=True, help="solver prototxt / YAML / JSON")
    train.add_argument("--weights", help="start from these weights (an ember.save file)")
    args = parser.parse_args(argv)
    from .solver import Solver
    solver = Solver(args.solver, verbose=True)
    if args.weights:
        solver.restore(args.weights)
    history = solver.solve()
    print(f"Optimization done: {len(history)} iterations, final loss {history[-1]:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

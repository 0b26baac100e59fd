"""What `Module.load_state_dict` checks before it copies anything: keys and shapes, all reported
at once, worded as PyTorch words them, so a failed load changes no parameter."""
from __future__ import annotations

from collections import namedtuple

from ..tensor import Tensor


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def check_state_dict(own: dict, state_dict, strict: bool, owner: str) -> tuple[list, list]:
    """(missing, unexpected) keys of `state_dict` against the module's own `own` entries; raises
    one RuntimeError listing every problem: a value that is not a tensor, a shape mismatch and,
    when `strict`, missing and unexpected keys."""
    if not hasattr(state_dict, "keys"):
        path = isinstance(state_dict, (str, bytes)) or hasattr(state_dict, "__fspath__")
        hint = ": load the file first, model.load_state_dict(ember.load(path))" if path else ""
        raise TypeError(f"expected a dict-like state_dict, got {type(state_dict).__name__}{hint}")
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    errors = []
    for key, target in own.items():
        if key not in state_dict:
            continue
        src = state_dict[key]
        if not isinstance(src, Tensor):
            errors.append(f'While copying the parameter named "{key}", expected a Tensor '
                          f"in the state_dict, got {type(src).__name__}.")
        elif tuple(src.shape) != tuple(target.shape):
            errors.append(f"size mismatch for {key}: copying a param with shape "
                          f"{src.shape} from checkpoint, the shape in current model is "
                          f"{target.shape}.")
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {owner}:\n\t" + "\n\t".join(errors))
    return missing, unexpected

"""What torch itself says a real CPU forward costs: FlopCounterMode's FLOPs and the bytes
saved_tensors_hooks sees, per module path (submodules included), each storage counted once."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def flop_truth(model: nn.Module, args: list[torch.Tensor]) -> tuple[dict[str, int], int]:
    """FLOPs per module path ('' is absent: the total is returned beside)."""
    with FlopCounterMode(display=False) as counter:
        model(*args)
    root = type(model).__name__
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    per_path = {path: counts.get(f"{root}.{path}", 0) for path, _ in model.named_modules() if path}
    return per_path, counter.get_total_flops()


def saved_truth(model: nn.Module, args: list[torch.Tensor]) -> tuple[dict[str, int], int]:
    """Bytes autograd saves for backward per module path and in all, parameters and buffers aside."""
    state = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    paths = {id(m): path for path, m in model.named_modules()}
    stack: list[str] = []
    per_path: dict[str, dict[int, int]] = {path: {} for path in paths.values() if path}
    total: dict[int, int] = {}
    keep = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in state:
            keep.append(tensor)
            total[storage.data_ptr()] = storage.nbytes()
            for path in set(stack):
                per_path[path][storage.data_ptr()] = storage.nbytes()
        return tensor

    def enter(module, _args):
        if paths[id(module)]:
            stack.append(paths[id(module)])

    def leave(module, _args, _output):
        if paths[id(module)]:
            stack.pop()

    handles = [m.register_forward_pre_hook(enter) for m in model.modules()]
    handles += [m.register_forward_hook(leave) for m in model.modules()]
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            output = model(*args)
    finally:
        for handle in handles:
            handle.remove()
    del output
    keep.clear()
    return {path: sum(saved.values()) for path, saved in per_path.items()}, sum(total.values())

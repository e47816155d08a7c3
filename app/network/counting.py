"""FLOPs and saved-for-backward bytes per module, counted during the analysis's meta forward.

FLOPs are counted by torch's own ``FlopCounterMode`` machinery (its dispatch mode, its formulas,
its decompositions), so the numbers are the ones ``FlopCounterMode`` gives on a real forward; only
the attribution differs: each op is credited to every module on the analysis's own stack, keyed
by the module itself rather than by a type-derived name.

Activation bytes are what ``torch.autograd.graph.saved_tensors_hooks`` sees: every tensor autograd
keeps for the backward pass, by storage, each storage counted once (an in-place ReLU saves into
the storage its input already had; a Flatten view shares it). The model's own parameters and
buffers are not activations: they are counted as the model's state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import _FlopCounterMode, flop_registry


def storage_key(tensor: torch.Tensor) -> tuple[int, int]:
    """(identity, bytes) of the memory a tensor lives in; a view answers its base's storage."""
    try:
        storage = tensor.untyped_storage()
        return storage._cdata, storage.nbytes()
    except (RuntimeError, NotImplementedError, TypeError):  # sparse, nested and other storage-less tensors
        return id(tensor), tensor.numel() * tensor.element_size()


class Counts:
    """FLOPs and saved storages per module (by id), while the modules on ``stack`` run."""

    # What FlopCounterMode's dispatch mode reads from its counter.
    flop_registry = flop_registry

    def __init__(self, stack: list[nn.Module], state: Iterable[torch.Tensor]) -> None:
        self.stack = stack
        self.flop_counts: Any = None  # FlopCounterMode keeps per-branch counts here for torch.cond
        self.flops: dict[int, int] = {}
        self.total_flops = 0
        self.saved: dict[int, dict[int, int]] = {}  # module id -> storage id -> bytes
        self.saved_total: dict[int, int] = {}
        self._state = {storage_key(t)[0] for t in state}
        self._alive: list[torch.Tensor] = []  # storages must outlive the pass, or ids could be reused

    # FlopCounterMode's dispatch mode calls this for every op it does not decompose.
    def _count_flops(self, func_packet: Any, out: Any, args: tuple, kwargs: dict) -> Any:
        formula = self.flop_registry.get(func_packet)
        if formula is not None:
            count = formula(*args, **kwargs, out_val=out)
            self.total_flops += count
            for key in {id(m) for m in self.stack}:
                self.flops[key] = self.flops.get(key, 0) + count
        return out

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        key, nbytes = storage_key(tensor)
        if key not in self._state:
            self._alive.append(tensor)
            self.saved_total[key] = nbytes
            for module in {id(m) for m in self.stack}:
                self.saved.setdefault(module, {})[key] = nbytes
        return tensor

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        """Grad on (autograd saves only what a training forward would), saves and FLOPs recorded."""
        try:
            with (
                torch.enable_grad(),
                torch.autograd.graph.saved_tensors_hooks(self._pack, _unpack),
                _FlopMode(self),  # type: ignore[arg-type]  # any object with its counter's three attributes
            ):
                yield
        finally:
            self._alive.clear()

    def module_flops(self, module: nn.Module) -> int:
        return self.flops.get(id(module), 0)

    def module_saved_bytes(self, module: nn.Module) -> int:
        return sum(self.saved.get(id(module), {}).values())

    @property
    def saved_bytes(self) -> int:
        return sum(self.saved_total.values())


def _unpack(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


class _FlopMode(_FlopCounterMode):
    """FlopCounterMode's dispatch mode, minus a detour: an op that has a formula is counted by it
    at once. torch's mode first tries to decompose every op (a registry keyed by packets never
    holds an overload), and for addmm that means running torch's Python decomposition, which
    tripled the cost of a meta forward; the decomposition's FLOPs are the formula's (tested).
    Views are run as they are: whatever they decompose into moves no data."""

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        packet = getattr(func, "_overloadpacket", None)
        if packet is not None and packet in self.counter.flop_registry:
            kwargs = kwargs or {}
            return self.counter._count_flops(packet, func(*args, **kwargs), args, kwargs)
        if getattr(func, "is_view", False):  # a view (t, view, transpose) computes nothing, whatever it decomposes to
            return func(*args, **(kwargs or {}))
        return super().__torch_dispatch__(func, types, args, kwargs)

"""The few glue modules nnstudio adds, for what torch.nn has no module for.

Each is a real ``nn.Module``: it prints like one, registers its children like one and
its parameters are seen by ``parameters()``.
"""

from __future__ import annotations

import functools
import operator

import torch
from torch import nn


class Residual(nn.Module):
    """Adds the input to the body's output: ``x + body(x)``, or ``projection(x) + body(x)``."""

    def __init__(self, body: nn.Module, projection: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.projection = projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.projection is None else self.projection(x)
        return skip + self.body(x)


class Parallel(nn.Module):
    """Runs every branch on the same input and joins the outputs by concat or sum along dim."""

    def __init__(self, *branches: nn.Module, join: str = "cat", dim: int = 1) -> None:
        super().__init__()
        if join not in ("cat", "sum"):
            raise ValueError(f"join must be 'cat' or 'sum', got {join!r}")
        self.join = join
        self.dim = dim
        for index, branch in enumerate(branches):
            self.add_module(str(index), branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self._modules.values() if branch is not None]
        if not outputs:
            return x
        if self.join == "cat":
            return torch.cat(outputs, dim=self.dim)
        return functools.reduce(operator.add, outputs)

    def extra_repr(self) -> str:
        return f"join={self.join!r}, dim={self.dim}"


class Chain(nn.Module):
    """Runs its children in order, stepping into ModuleLists: ``for layer in layers: x = layer(x)``."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        for index, layer in enumerate(layers):
            self.add_module(str(index), layer)

    def forward(self, x):
        for child in self._modules.values():
            if child is None:  # add_module(name, None) reserves a name; nnstudio never does
                continue
            steps = child if isinstance(child, nn.ModuleList) else (child,)
            for step in steps:
                x = step(x)
        return x


class TakeOutput(nn.Module):
    """Takes element ``index`` of a tuple output, e.g. the sequence out of ``GRU``'s (output, h_n)."""

    def __init__(self, index: int = 0) -> None:
        super().__init__()
        self.index = index

    def forward(self, x):
        return x[self.index]

    def extra_repr(self) -> str:
        return f"index={self.index}"


class Reshape(nn.Module):
    """Reshapes every sample, keeping the batch dimension: ``x.reshape(len(x), *shape)``."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(nn.Module):
    """Reorders the dimensions, batch included: ``x.permute(*dims)``."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


GLUE_BLOCKS = {cls.__name__: cls for cls in (Residual, Parallel, Chain, TakeOutput, Reshape, Permute)}

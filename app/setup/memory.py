"""The memory one training step needs, by part, and whether it fits a device.

Parameters and buffers (the model's state), a gradient per trainable parameter, the optimizer's
per-element state and the activations autograd saves for backward (from the meta analysis). The
optimizer's state is not looked up in a table: each parameter group's optimizer, with that group's
settings, takes one step on a tiny CPU tensor, and the state tensors it creates the size of that
tensor are the buffers it keeps per parameter (none for plain SGD, one for momentum, two for Adam).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import torch
from torch import nn, optim

from app.network.analysis import Analysis
from app.setup.devices import Placement, discover

_PROBE = 7  # elements: no optimizer keeps a scalar state (Adam's step) of this size


@dataclass(frozen=True)
class TrainingMemory:
    parameters: int  # parameters and buffers, bytes
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state + self.activations

    def to_json(self) -> dict:
        return {
            "parameters": self.parameters,
            "gradients": self.gradients,
            "optimizer_state": self.optimizer_state,
            "activations": self.activations,
            "total": self.total,
        }


def training_memory(analysis: Analysis, optimizer: optim.Optimizer | None = None) -> TrainingMemory | None:
    """The step's memory at the analysed batch size; None where the activations are unknown.
    Without an optimizer, plain SGD: no state."""
    if analysis.activation_bytes is None:
        return None
    return TrainingMemory(
        parameters=analysis.param_bytes + analysis.buffer_bytes,
        gradients=analysis.trainable_bytes,
        optimizer_state=optimizer_state_bytes(optimizer) if optimizer is not None else 0,
        activations=analysis.activation_bytes,
    )


def optimizer_state_bytes(optimizer: optim.Optimizer) -> int:
    total = 0
    for group in optimizer.param_groups:
        trainable = [p for p in group["params"] if p.requires_grad and not nn.parameter.is_lazy(p)]
        if trainable:
            buffers = state_buffers(type(optimizer), group)
            total += buffers * sum(p.numel() * p.element_size() for p in trainable)
    return total


def state_buffers(kind: type[optim.Optimizer], group: dict) -> int:
    """How many parameter-sized tensors ``kind`` keeps per parameter with a group's settings."""
    # A group also holds what the optimizer sets itself (AdamW's decoupled_weight_decay): only
    # what its constructor takes goes back in.
    accepted = inspect.signature(kind.__init__).parameters
    settings = {key: value for key, value in group.items() if key != "params" and key in accepted}
    # The probe is a CPU tensor: settings that need CUDA tensors change no state's size.
    settings.update({key: False for key in ("capturable", "differentiable") if key in settings})
    settings.update({key: None for key in ("foreach", "fused") if key in settings})
    probe = torch.zeros(_PROBE, requires_grad=True)
    probe.grad = torch.ones(_PROBE)
    stepper = kind([probe], **settings)
    stepper.step()
    state = stepper.state[probe].values()
    return sum(t.numel() // _PROBE for t in state if isinstance(t, torch.Tensor) and t.numel() % _PROBE == 0)


@dataclass(frozen=True)
class Fit:
    device: str
    capacity: int | None  # bytes the device offers; None where it cannot be told
    batch_size: int
    fits: bool | None
    max_batch_size: int | None  # None where the activations do not grow with the batch

    def to_json(self) -> dict:
        return {
            "device": self.device,
            "capacity": self.capacity,
            "batch_size": self.batch_size,
            "fits": self.fits,
            "max_batch_size": self.max_batch_size,
        }


def fit(memory: TrainingMemory, batch_size: int, placement: Placement) -> Fit:
    """Whether a step fits the device, and the largest batch that would, taking the activations
    to grow in proportion to the batch (the rest does not grow). DataParallel: the first GPU,
    which holds the gradients and the optimizer's state, and its share of the batch."""
    replicas = len(placement.ids) if placement.kind == "dp" else 1
    capacity = device_capacity(placement)
    per_sample = memory.activations / (batch_size * replicas) if batch_size > 0 else 0.0
    need = memory.total - memory.activations + per_sample * batch_size
    if capacity is None:
        return Fit(str(placement), None, batch_size, None, None)
    room = capacity - (memory.total - memory.activations)
    largest = None if per_sample <= 0 else max(0, int(room // per_sample))
    return Fit(str(placement), capacity, batch_size, need <= capacity, largest)


def device_capacity(placement: Placement) -> int | None:
    """CUDA: the device's total memory (the smallest, for DataParallel); CPU: the memory available
    now; MPS: what Metal recommends; None where the device is not here."""
    if placement.kind == "cpu":
        return available_ram()
    if placement.kind == "mps":
        mps = getattr(torch, "mps", None)
        return int(mps.recommended_max_memory()) if mps is not None and torch.backends.mps.is_available() else None
    ids = placement.ids if placement.kind == "dp" else (placement.index or 0,)
    memory = {d.id: d.memory_bytes for d in discover()}
    sizes = [memory.get(f"cuda:{i}") for i in ids]
    return None if any(size is None for size in sizes) else min(s for s in sizes if s is not None)


def available_ram(meminfo: str = "/proc/meminfo") -> int | None:
    try:
        with open(meminfo, encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None

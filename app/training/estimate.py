"""The memory a training run of a network will need, and whether it fits the chosen device.

The optimizer is the project's (Adam when the project names none, as training uses); a module
with no project trains with plain SGD, which keeps no state. The model is the analysed one, with
the project's freezing applied, so only trainable parameters have gradients and state.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from app.network.analysis import Analysis
from app.network.inputs import InputSpec
from app.project.project_file import Project
from app.setup.devices import parse_placement
from app.setup.memory import Fit, TrainingMemory, fit, training_memory
from app.setup.optim import build_optimizer
from app.training.prepare import optimizer_config


@dataclass(frozen=True)
class Estimate:
    memory: TrainingMemory | None  # None where the forward was not analysed
    fit: Fit | None  # None without a device, or without a memory estimate

    def to_json(self) -> dict:
        return {
            "memory": self.memory.to_json() if self.memory is not None else None,
            "fit": self.fit.to_json() if self.fit is not None else None,
        }


def estimate(
    model: nn.Module,
    analysis: Analysis,
    inputs: list[InputSpec] | None,
    project: Project | None,
    device: str | None,
    where: str = "device",
) -> Estimate:
    placement = parse_placement(device, where) if device is not None else None
    optimizer = build_optimizer(model, optimizer_config(project))[0] if project is not None else None
    memory = training_memory(analysis, optimizer)
    if memory is None or placement is None or not inputs or not inputs[0].shape:
        return Estimate(memory, None)
    return Estimate(memory, fit(memory, inputs[0].shape[0], placement))

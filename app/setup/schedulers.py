"""Learning-rate schedulers: StepLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau, or none.

``{"type": "StepLR", "args": {"step_size": 5, "gamma": 0.5}}``. OneCycleLR steps after every
batch (its ``total_steps`` and ``max_lr`` default to the run's length and each group's lr); the
others step after every epoch, ReduceLROnPlateau on the validation loss (or the training loss
when there is no validation split).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeGuard

from torch import optim
from torch.optim import lr_scheduler

from app.errors import NNStudioError
from app.jsoncheck import object_with, one_of

ARGUMENTS: dict[str, dict[str, type | tuple]] = {
    "StepLR": {"step_size": int, "gamma": float},
    "CosineAnnealingLR": {"T_max": int, "eta_min": float},
    "OneCycleLR": {
        "max_lr": float,
        "total_steps": int,
        "pct_start": float,
        "anneal_strategy": ("cos", "linear"),
        "div_factor": float,
        "final_div_factor": float,
    },
    "ReduceLROnPlateau": {
        "mode": ("min", "max"),
        "factor": float,
        "patience": int,
        "threshold": float,
        "min_lr": float,
        "cooldown": int,
    },
}
REQUIRED = {"StepLR": ("step_size",)}


@dataclass
class SchedulerConfig:
    type: str
    args: dict = field(default_factory=dict)

    @property
    def per_batch(self) -> bool:
        return self.type == "OneCycleLR"

    def to_json(self) -> dict:
        return {"type": self.type, "args": dict(self.args)} if self.args else {"type": self.type}


def parse_scheduler(data: object, where: str = "scheduler") -> SchedulerConfig | None:
    if data is None:
        return None
    data = object_with(data, where, ("type", "args"), required=("type",))
    type_name = one_of(data["type"], ARGUMENTS, f"{where}.type", " (or null)")
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise NNStudioError("must be an object", f"{where}.args")
    for name, value in args.items():
        _check(type_name, name, value, f"{where}.args.{name}")
    for name in REQUIRED.get(type_name, ()):
        if name not in args:
            raise NNStudioError(f"{type_name} needs {name!r}", f"{where}.args")
    return SchedulerConfig(type_name, dict(args))


def _check(type_name: str, name: str, value: object, where: str) -> None:
    kind = ARGUMENTS[type_name].get(name)
    if kind is None:
        raise NNStudioError(f"{type_name} takes no argument {name!r} (its: {', '.join(ARGUMENTS[type_name])})", where)
    if isinstance(kind, tuple):
        if value not in kind:
            raise NNStudioError(f"must be one of {', '.join(kind)}, got {value!r}", where)
        return
    if kind is int and not (_is_number(value) and isinstance(value, int) and value >= 1):
        raise NNStudioError(f"must be a positive integer, got {value!r}", where)
    if kind is float and not (_is_number(value) and math.isfinite(value) and value >= 0):
        raise NNStudioError(f"must be a finite, non-negative number, got {value!r}", where)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def build_scheduler(optimizer: optim.Optimizer, config: SchedulerConfig | None, epochs: int, steps_per_epoch: int):
    if config is None:
        return None
    args = dict(config.args)
    try:
        if config.type == "StepLR":
            return lr_scheduler.StepLR(optimizer, **args)
        if config.type == "CosineAnnealingLR":
            return lr_scheduler.CosineAnnealingLR(optimizer, **{"T_max": epochs, **args})
        if config.type == "OneCycleLR":
            args.setdefault("max_lr", [group["lr"] for group in optimizer.param_groups])
            args.setdefault("total_steps", max(1, epochs * steps_per_epoch))
            return lr_scheduler.OneCycleLR(optimizer, **args)
        return lr_scheduler.ReduceLROnPlateau(optimizer, **args)
    except (ValueError, TypeError) as error:
        raise NNStudioError(str(error), "scheduler") from error

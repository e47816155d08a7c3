"""Optimizers with parameter groups, and learning-rate schedulers, from a project's sections.

``{"type": "SGD", "defaults": {"lr": 1e-5}, "groups": [{"select": "classifier", "lr": 0.01}]}``
builds ``optim.SGD([{'params': [...]}, ...], lr=1e-05)``: torch's own optimizer, so
``print(optimizer)`` is torch's own text. Every trainable parameter lands in exactly one group:
the first group whose selector matches it, else the default group, which comes last.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import TypeGuard

import numpy as np
import torch
from torch import nn, optim

from app.errors import NNStudioError
from app.jsoncheck import object_with, one_of
from app.numpy_view import numpy_view
from app.setup.selectors import Selector, named_parameters_with_owner, parse_selector

OPTIMIZERS: dict[str, type[optim.Optimizer]] = {
    name: getattr(optim, name) for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam")
}
# Implementation switches, not hyperparameters: left to torch.
HIDDEN_HYPERPARAMETERS = frozenset({"self", "params", "foreach", "capturable", "differentiable", "fused"})


@dataclass
class GroupConfig:
    selector: Selector
    hyper: dict


@dataclass
class OptimizerConfig:
    type: str = "SGD"
    defaults: dict = field(default_factory=lambda: {"lr": 0.01})
    groups: list[GroupConfig] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "type": self.type,
            "defaults": dict(self.defaults),
            "groups": [{"select": g.selector.to_json(), **g.hyper} for g in self.groups],
        }


@dataclass
class GroupAssignment:
    """Which parameters each group got; ``names[-1]`` is the default group's."""

    names: list[list[str]]
    empty_groups: list[int]  # explicit groups whose selector matched no trainable parameter

    def warnings(self, config: OptimizerConfig) -> list[str]:
        return [
            f"optimizer.groups[{i}]: selector {config.groups[i].selector.text!r} matches no trainable parameter"
            for i in self.empty_groups
        ]


def hyperparameters(type_name: str) -> dict[str, object]:
    """The optimizer's hyperparameters and their defaults, read from its signature."""
    signature = inspect.signature(OPTIMIZERS[type_name].__init__)
    return {
        name: param.default
        for name, param in signature.parameters.items()
        if name not in HIDDEN_HYPERPARAMETERS and param.kind is not param.VAR_KEYWORD
    }


def parse_optimizer(data: object, where: str = "optimizer") -> OptimizerConfig:
    data = object_with(data, where, ("type", "defaults", "groups"))
    type_name = one_of(data.get("type", "SGD"), OPTIMIZERS, f"{where}.type")
    defaults = _hyper(type_name, data.get("defaults", {}), f"{where}.defaults")
    groups_data = data.get("groups", [])
    if not isinstance(groups_data, list):
        raise NNStudioError("must be a list of groups", f"{where}.groups")
    groups = []
    for i, group in enumerate(groups_data):
        at = f"{where}.groups[{i}]"
        if not isinstance(group, dict) or "select" not in group:
            raise NNStudioError("must be an object with 'select' and hyperparameters such as 'lr'", at)
        hyper = {k: v for k, v in group.items() if k != "select"}
        groups.append(GroupConfig(parse_selector(group["select"], f"{at}.select"), _hyper(type_name, hyper, at)))
    return OptimizerConfig(type_name, defaults, groups)


def _hyper(type_name: str, values: object, where: str) -> dict:
    if not isinstance(values, dict):
        raise NNStudioError("must be an object of hyperparameters", where)
    known = hyperparameters(type_name)
    for name, value in values.items():
        if name not in known:
            raise NNStudioError(
                f"{type_name} has no hyperparameter {name!r} (its: {', '.join(known)})", f"{where}.{name}"
            )
        problem = _hyper_problem(value, known[name])
        if problem:
            raise NNStudioError(problem, f"{where}.{name}")
    return dict(values)


def _hyper_problem(value: object, default: object) -> str | None:
    if isinstance(default, bool) or (default is None and isinstance(value, bool)):
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if isinstance(default, tuple):
        ok = isinstance(value, list) and len(value) == len(default) and all(_finite(v) for v in value)
        return None if ok else f"must be a list of {len(default)} numbers, got {value!r}"
    if isinstance(value, bool) or not _finite(value):
        return f"must be a finite number, got {value!r}"
    if value < 0:
        return f"must not be negative, got {value!r}"
    return None


def _finite(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def assign_groups(model: nn.Module, config: OptimizerConfig) -> GroupAssignment:
    names: list[list[str]] = [[] for _ in range(len(config.groups) + 1)]
    for name, parameter, owner in named_parameters_with_owner(model):
        if not parameter.requires_grad:
            continue  # frozen: out of the optimizer
        index = next((i for i, g in enumerate(config.groups) if g.selector.matches(name, owner)), len(config.groups))
        names[index].append(name)
    empty = [i for i in range(len(config.groups)) if not names[i]]
    return GroupAssignment(names, empty)


def build_optimizer(model: nn.Module, config: OptimizerConfig) -> tuple[optim.Optimizer, GroupAssignment]:
    """torch's optimizer over the model's trainable parameters, one param group per non-empty group."""
    assignment = assign_groups(model, config)
    by_name = {name: p for name, p, _ in named_parameters_with_owner(model)}
    groups = []
    for index, names in enumerate(assignment.names):
        if not names:
            continue
        hyper = config.groups[index].hyper if index < len(config.groups) else {}
        groups.append({"params": [by_name[n] for n in names], **_as_torch(hyper)})
    if not groups:
        raise NNStudioError("no trainable parameters: every parameter is frozen or the network has none", "optimizer")
    try:
        optimizer = OPTIMIZERS[config.type](groups, **_as_torch(config.defaults))
    except (ValueError, TypeError) as error:
        raise NNStudioError(str(error), "optimizer") from error
    return optimizer, assignment


def _as_torch(hyper: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}


def group_labels(config: OptimizerConfig, assignment: GroupAssignment) -> list[str]:
    """A label per torch param group, in order: the selector text, or 'default'."""
    labels = [g.selector.text for g in config.groups] + ["default"]
    return [labels[i] for i, names in enumerate(assignment.names) if names]


def grad_norms(optimizer: optim.Optimizer) -> list[float]:
    """The L2 norm of the gradients of each param group (0 where no gradient yet)."""
    return [_norm([p.grad for p in group["params"] if p.grad is not None]) for group in optimizer.param_groups]


def _norm(grads: list[torch.Tensor]) -> float:
    if not grads:
        return 0.0
    arrays = [numpy_view(g) for g in grads]
    if any(a is None for a in arrays):  # on a device
        return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
    flat = [a.reshape(-1) for a in arrays if a is not None]  # dense CPU gradients: one BLAS dot product each
    with np.errstate(over="ignore"):  # an overflow is handled below, not worth a warning
        squares = sum(float(np.dot(v, v)) for v in flat)
    if not math.isfinite(squares):  # NaN, inf, or float32 squares past 3.4e38: count again in float64
        squares = sum(float(np.dot(w, w)) for w in (v.astype(np.float64) for v in flat))
    return math.sqrt(squares)

"""Train / eval mode, with per-module overrides that survive ``model.train()`` calls.

``{"training": true, "overrides": {"features.1": false}}`` keeps ``features.1`` (say a BatchNorm) in
eval mode while the rest trains. ``nn.Module.train`` recurses by calling each child's ``train``,
so an override is an instance-level ``train`` that always passes its fixed mode down.
"""

from __future__ import annotations

import types

from torch import nn

from app.errors import NNStudioError
from app.jsoncheck import object_with


def parse_mode(data: object, where: str = "mode") -> dict:
    data = object_with(data, where, ("training", "overrides"))
    training = data.get("training", True)
    if not isinstance(training, bool):
        raise NNStudioError(f"must be true or false, got {training!r}", f"{where}.training")
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        raise NNStudioError("must map module paths to true (train) or false (eval)", f"{where}.overrides")
    for path, flag in overrides.items():
        if not isinstance(flag, bool):
            raise NNStudioError(f"must be true (train) or false (eval), got {flag!r}", f"{where}.overrides.{path}")
    return {"training": training, "overrides": dict(overrides)}


def _fixed_train(fixed: bool):
    def train(self: nn.Module, mode: bool = True) -> nn.Module:
        return nn.Module.train(self, fixed)

    return train


def apply_mode(model: nn.Module, mode: dict, where: str = "mode.overrides") -> None:
    """Set the mode, then pin every overridden module (and its submodules) to its own mode."""
    modules = dict(model.named_modules())
    for path in mode.get("overrides", {}):
        if path not in modules:
            raise NNStudioError(f"no module {path!r} in the network", f"{where}.{path}" if path else where)
    for module in modules.values():
        module.__dict__.pop("train", None)
    for path, fixed in mode.get("overrides", {}).items():
        modules[path].train = types.MethodType(_fixed_train(fixed), modules[path])
    model.train(mode.get("training", True))


def pinned_modes(model: nn.Module) -> dict[str, bool]:
    """The overrides in force on a model, by path."""
    return {
        path: module.training
        for path, module in model.named_modules()
        if isinstance(module.__dict__.get("train"), types.MethodType)
    }

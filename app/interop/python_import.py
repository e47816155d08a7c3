"""A user's Python network (``file.py:Class`` or ``package.module:factory``) as an editable project.

This runs the user's code, so it is an explicit action (``nnstudio import``), never a side effect
of opening a file. A network becomes a project only when every submodule is a catalog type or
container that can be rebuilt exactly from a spec; otherwise :func:`import_project` raises an
:class:`UnrepresentableError` listing every submodule that cannot be represented and why, and
nothing is written. Frozen parameters become the project's ``freeze`` section and eval-mode
modules its ``mode``; with ``with_weights`` the network's own tensors are kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, cast

from torch import Tensor, nn

from app.errors import ModelLoadError
from app.interop.unrepresentable import (
    Unrepresentable,
    UnrepresentableError,
    all_trainable,
    find_unrepresentable,
)
from app.interop.weights_import import apply_weights
from app.network.analysis import analyse
from app.network.build import build
from app.network.inputs import InputSpec
from app.network.python_network import PythonNetwork
from app.network.recover import spec_from_module  # recover's walk, shared not copied
from app.network.spec import Node
from app.network.usermodel import load_user_model
from app.project.project_file import Project, save_project


@dataclass
class ImportResult:
    project: Project
    model: nn.Module  # the network as the user's code built it
    state_dict: dict[str, Tensor] | None = None  # its weights, when asked for: saved beside the project
    notes: list[str] = field(default_factory=list)

    def save(self, path: str | os.PathLike) -> None:
        """Write the project (and its weights beside it) atomically."""
        save_project(self.project, path, self.state_dict)


def import_project(
    target: str,
    kwargs: dict[str, Any] | None = None,
    *,
    with_weights: bool = False,
    inputs: list[InputSpec] | None = None,
    name: str | None = None,
) -> ImportResult:
    """Import ``target`` and turn it into a project: an editable spec when every part is a catalog
    layer or container, else a project whose network is ``target`` itself (a Python network),
    with the reasons in the notes. Without ``with_weights`` the network is built on the meta
    device (no memory for weights) and the project starts from its init rules."""
    model = load_user_model(target, kwargs, device="cpu" if with_weights else "meta")
    if with_weights and any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        raise ModelLoadError("its code leaves tensors on the meta device, so it has no weights to keep", target)
    name = name or target.rpartition(":")[2]
    problems = find_unrepresentable(model)
    if problems:
        result = python_project(model, PythonNetwork(target, dict(kwargs or {})), problems, name, inputs, with_weights)
    else:
        result = project_from_module(model, name=name, inputs=inputs, with_weights=with_weights, where=target)
    result.project.description = f"imported from {target}"
    return result


def python_project(
    model: nn.Module,
    network: PythonNetwork,
    problems: list[Unrepresentable],
    name: str,
    inputs: list[InputSpec] | None,
    with_weights: bool,
) -> ImportResult:
    """A project whose network is the user's code, because a spec cannot hold ``problems``."""
    count = f"{len(problems)} part{'s' if len(problems) != 1 else ''}"
    notes = [
        f"the project's network is the Python code {network.target}, since {count} cannot be a spec "
        "(building it runs that code: --allow-code on the command line, a question in the window):",
        *(f"  {problem}" for problem in problems),
    ]
    frozen, inputs = _frozen_and_inputs(model, inputs, notes)
    project = Project(network, inputs, name=name, freeze=frozen, mode=_mode(model))
    error = analyse(model, inputs, counts=False).error
    if error is not None:
        notes.append(f"the inputs do not fit the network yet: {error}")
    state = {key: tensor.detach().clone() for key, tensor in model.state_dict().items()} if with_weights else None
    return ImportResult(project, model, state, notes)


def project_from_module(
    model: nn.Module,
    *,
    name: str = "imported",
    inputs: list[InputSpec] | None = None,
    with_weights: bool = False,
    where: str = "model",
) -> ImportResult:
    problems = find_unrepresentable(model)
    if problems:
        raise UnrepresentableError(problems, where)
    with all_trainable(model):
        network = spec_from_module(model)
    notes: list[str] = []
    frozen, inputs = _frozen_and_inputs(model, inputs, notes)
    project = Project(network, inputs, name=name, freeze=frozen, mode=_mode(model))
    error = analyse(build(network, device="meta"), inputs, counts=False).error
    if error is not None:
        notes.append(f"the inputs do not fit the network yet: {error}")
    state = _weights(network, model, project, notes, where) if with_weights else None
    return ImportResult(project, model, state, notes)


def _frozen_and_inputs(
    model: nn.Module, inputs: list[InputSpec] | None, notes: list[str]
) -> tuple[list[str], list[InputSpec]]:
    """The frozen parameters (the freeze section) and the inputs (guessed when not given), noted."""
    if inputs is None:
        inputs = guess_inputs(model)
        notes.append(
            f"the input shape {[spec.shape for spec in inputs]} is a guess from the first layer; "
            "set it with --input-shape (or in the Summary tab)"
        )
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    if frozen:
        notes.append(f"{len(frozen)} frozen parameter{'s' if len(frozen) != 1 else ''} went into the freeze section")
    return frozen, inputs


def _mode(model: nn.Module) -> dict:
    """Train / eval as the project's mode section: the model's flag, and every submodule that differs
    from its parent as an override."""
    overrides: dict[str, bool] = {}
    for path, module in model.named_modules():
        for name, child in module.named_children():
            if child.training != module.training:
                overrides[f"{path}.{name}" if path else name] = child.training
    return {"training": model.training, "overrides": overrides}


def _weights(network: Node, model: nn.Module, project: Project, notes: list[str], where: str) -> dict[str, Tensor]:
    """The network's tensors as the project's own model holds them (converted to its dtypes)."""
    rebuilt = build(network, device="cpu")
    report = apply_weights(rebuilt, model.state_dict(), partial=False, where=where)
    if report.conversions:
        notes.append(
            f"{len(report.conversions)} tensors were converted to the project's dtype (e.g. {report.conversions[0]})"
        )
    return rebuilt.state_dict()


GUESSES: tuple[tuple[str, str], ...] = (
    ("in_features", "features"),
    ("in_channels", "channels"),
    ("input_size", "sequence"),
    ("num_embeddings", "tokens"),
    ("d_model", "sequence"),
    ("embed_dim", "sequence"),
    ("num_features", "features"),
)


def guess_inputs(model: nn.Module) -> list[InputSpec]:
    """An input shape from the first layer that says what it takes: [1, in_features] for a Linear,
    [2, C, 32, 32] for a Conv2d, [2, 16] token ids for an Embedding, ...; [2, 1] when none does.
    A batch of 2: a BatchNorm in training mode refuses a batch of one."""
    for module in model.modules():
        for attribute, kind in GUESSES:
            size = getattr(module, attribute, None)
            if isinstance(size, int) and not isinstance(size, bool) and size > 0:
                return [_guess(module, kind, size)]
    return [InputSpec([2, 1])]


def _guess(module: nn.Module, kind: str, size: int) -> InputSpec:
    if kind == "channels":
        dims = next((d for d in (3, 2, 1) if type(module).__name__.endswith(f"{d}d")), 2)
        return InputSpec([2, size] + [16 if dims == 3 else 32] * dims)
    if kind == "tokens":
        return InputSpec([2, 16], "int64")
    if kind == "sequence":
        first = getattr(module, "batch_first", None)
        if first is None and hasattr(module, "self_attn"):
            first = cast(nn.MultiheadAttention, module.self_attn).batch_first
        return InputSpec([2, 16, size] if first else [16, 2, size])
    return InputSpec([2, size])


__all__ = [
    "Unrepresentable",
    "UnrepresentableError",
    "ImportResult",
    "import_project",
    "project_from_module",
    "find_unrepresentable",
    "guess_inputs",
]

"""A user's Python network (``file.py:Class`` or ``package.module:factory``) as an editable project.

This runs the user's code, so it is an explicit action (``nnstudio import``), never a side effect
of opening a file. A network becomes a project only when every submodule is a catalog type or
container that can be rebuilt exactly from a spec; otherwise :func:`import_project` raises an
:class:`UnrepresentableError` listing every submodule that cannot be represented and why, and
nothing is written. Frozen parameters become the project's ``freeze`` section and eval-mode
modules its ``mode``; with ``with_weights`` the network's own tensors are kept.
"""

from __future__ import annotations

import inspect
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor, nn
from torch.nn.utils import parametrize

from app.errors import ModelLoadError, SpecError
from app.interop.weights_import import apply_weights
from app.network.analysis import analyse
from app.network.build import build
from app.network.catalog import catalog, type_name_of
from app.network.inputs import InputSpec
from app.network.lint import lint
from app.network.recover import _recover, _slot_modules, spec_from_module  # recover's walk, shared not copied
from app.network.spec import Node
from app.network.usermodel import load_user_model
from app.project.project_file import Project, save_project

LINT_KINDS = {"module-container": "modules", "parameter-container": "parameters", "plain-tensor": "tensor"}
SHOWN_REPR = 120
USER_MODULE_PREFIX = "nnstudio_user_"  # how load_user_model names a module imported from a file


@dataclass(frozen=True)
class Unrepresentable:
    """A submodule (or attribute) a project cannot hold. ``path`` "" is the whole model."""

    path: str
    class_name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or 'model'} ({self.class_name}): {self.reason}"


class UnrepresentableError(ModelLoadError):
    """The network has parts a project cannot hold; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Unrepresentable], where: str) -> None:
        count = len(problems)
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"cannot be imported as an editable project: {count} part{'s' if count != 1 else ''} "
            f"cannot be represented (nothing was written):\n{lines}",
            where,
        )
        self.problems = problems


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
    """Import ``target`` and turn it into a project; raises UnrepresentableError listing every
    part a project cannot hold (and imports nothing). Without ``with_weights`` the network is
    built on the meta device (no memory for weights) and the project starts from its init rules."""
    model = load_user_model(target, kwargs, device="cpu" if with_weights else "meta")
    if with_weights and any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        raise ModelLoadError("its code leaves tensors on the meta device, so it has no weights to keep", target)
    result = project_from_module(
        model, name=name or target.rpartition(":")[2], inputs=inputs, with_weights=with_weights, where=target
    )
    result.project.description = f"imported from {target}"
    return result


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
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    with _all_trainable(model):
        network = spec_from_module(model)
    notes: list[str] = []
    if inputs is None:
        inputs = guess_inputs(model)
        notes.append(
            f"the input shape {[spec.shape for spec in inputs]} is a guess from the first layer; "
            "set it with --input-shape (or in the Summary tab)"
        )
    project = Project(network, inputs, name=name, freeze=list(frozen), mode=_mode(model))
    if frozen:
        notes.append(f"{len(frozen)} frozen parameter{'s' if len(frozen) != 1 else ''} went into the freeze section")
    error = analyse(build(network, device="meta"), inputs).error
    if error is not None:
        notes.append(f"the inputs do not fit the network yet: {error}")
    state = _weights(network, model, project, notes, where) if with_weights else None
    return ImportResult(project, model, state, notes)


def find_unrepresentable(model: nn.Module) -> list[Unrepresentable]:
    """Every submodule and attribute a project cannot hold, with the reason, in module order."""
    found: list[Unrepresentable] = []
    _walk(model, "", found, {})
    found += _tied_parameters(model)
    found += _hidden_attributes(model)
    if not found:
        with _all_trainable(model):
            try:
                spec_from_module(model)
            except SpecError as error:  # what the per-module checks cannot see
                found.append(
                    Unrepresentable(error.where if error.where != "model" else "", type(model).__name__, error.message)
                )
    order = {path: index for index, (path, _) in enumerate(model.named_modules(remove_duplicate=False))}

    def position(problem: Unrepresentable) -> float:  # an attribute sorts after its module's subtree
        if problem.path in order:
            return order[problem.path]
        owner = problem.path.rpartition(".")[0]
        inside = [i for path, i in order.items() if not owner or path == owner or path.startswith(owner + ".")]
        return max(inside, default=len(order)) + 0.5

    return sorted(found, key=position)


def _walk(module: nn.Module, path: str, found: list[Unrepresentable], seen: dict[int, str]) -> None:
    if id(module) in seen:
        found.append(
            Unrepresentable(
                path,
                type(module).__name__,
                (
                    f"the same module object as {seen[id(module)] or 'the model'} (shared): a project builds "
                    "every place as a module of its own"
                ),
            )
        )
        return
    seen[id(module)] = path
    before = len(found)
    type_name = type_name_of(module)
    if parametrize.is_parametrized(module):
        found.append(
            Unrepresentable(
                path,
                type(module).__name__,
                (
                    f"has parametrizations on {', '.join(module.parametrizations)} (torch.nn.utils.parametrize, "
                    "e.g. weight_norm): a project cannot hold them"
                ),
            )
        )
        children = {name: child for name, child in module._modules.items() if name != "parametrizations"}
        type_name = None
    elif type_name is None:
        found.append(Unrepresentable(path, type(module).__name__, _custom_reason(type(module))))
        children = dict(module._modules)
    elif catalog()[type_name].is_sequence:
        children = dict(module._modules)  # not named_children(): it hides a module placed twice
    else:  # a slot's module under the name torch registers it (TransformerEncoder: layers.0)
        registered = {id(child): name for name, child in module.named_modules() if name}
        children = {
            registered.get(id(child), slot): child
            for slot, child in _slot_modules(module, type_name).items()
            if child is not None
        }
    if type_name is not None and _hooks(module):
        found.append(
            Unrepresentable(
                path,
                type(module).__name__,
                (
                    f"has {_hooks(module)} registered (weight_norm, spectral_norm, prune or the code's own): "
                    "a project cannot hold hooks"
                ),
            )
        )
    for child_name, child in children.items():
        if child is None:
            continue
        _walk(child, f"{path}.{child_name}" if path else child_name, found, seen)
    if type_name is not None and len(found) == before and not catalog()[type_name].is_sequence:
        reason = _argument_problem(module, path)
        if reason is not None:
            found.append(Unrepresentable(path, type(module).__name__, reason))


def _custom_reason(cls: type) -> str:
    qualified = _defined_where(cls)
    if cls.__module__.startswith("torch."):
        return f"{qualified} is not one of nnstudio's layer types"
    base = next((entry.cls for entry in catalog().values() if issubclass(cls, entry.cls)), None)
    own_forward = cls.forward is not (base.forward if base is not None else nn.Module.forward)
    if base is not None and not own_forward:
        return (
            f"a subclass of {base.__module__.split('.')[0]}.nn.{base.__name__} (no forward of its own): "
            f"a project holds nn.{base.__name__} itself, and print(model) would change"
        )
    if own_forward:
        return f"a custom class with its own forward ({qualified})"
    return f"a custom class without a forward ({qualified})"


def _defined_where(cls: type) -> str:
    """``package.module.Name``, or for a class from a .py file ``Name, file.py line N``."""
    if not cls.__module__.startswith(USER_MODULE_PREFIX):
        return f"{cls.__module__}.{cls.__qualname__}"
    try:
        line = inspect.getsourcelines(cls)[1]
        return f"{cls.__qualname__}, {Path(inspect.getsourcefile(cls) or '?').name} line {line}"
    except (OSError, TypeError):
        return cls.__qualname__


def _hooks(module: nn.Module) -> str:
    kinds = [
        label
        for label, hooks in (
            ("forward pre-hooks", module._forward_pre_hooks),
            ("forward hooks", module._forward_hooks),
            ("backward hooks", module._backward_hooks),
            ("backward pre-hooks", module._backward_pre_hooks),
        )
        if hooks
    ]
    return " and ".join(kinds)


def _argument_problem(module: nn.Module, path: str) -> str | None:
    """Why a catalog module does not come back identical from the spec of its arguments, if not."""
    with _all_trainable(module):
        try:
            spec_from_module(module, path)
            return None
        except SpecError as error:
            if "differs" not in error.message:
                return f"arguments cannot be recovered: {error.message.removeprefix('cannot be represented: ')}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rebuilt = build(_recover(module, path), device="meta")
        except SpecError as error:
            return f"arguments cannot be recovered: {error.message}"
    fresh = f"a freshly built {type(module).__name__}"
    prefix = "arguments cannot be recovered (changed after it was built?)"
    modules, again_modules = {n for n, _ in module.named_modules()}, {n for n, _ in rebuilt.named_modules()}
    if modules != again_modules:
        added, removed = sorted(modules - again_modules), sorted(again_modules - modules)
        parts = ([f"submodules {fresh} does not have: {', '.join(added[:5])}"] if added else []) + (
            [f"no {', '.join(removed[:5])}, which {fresh} has"] if removed else []
        )
        return f"{prefix}: it has {'; and '.join(parts)}"
    if repr(rebuilt) != repr(module):
        ours, theirs = next(
            (a, b) for a, b in zip(repr(module).splitlines() + [""], repr(rebuilt).splitlines() + [""]) if a != b
        )
        printed, rebuilt_printed = _short(ours.strip()), _short(theirs.strip())
        return f"{prefix}: it prints {printed} where {fresh} from its arguments prints {rebuilt_printed}"
    shapes = {n: list(t.shape) for n, t in (*module.named_parameters(), *module.named_buffers())}
    again = {n: list(t.shape) for n, t in (*rebuilt.named_parameters(), *rebuilt.named_buffers())}
    differ = [
        f"{n} {shapes[n]} where it would be {again[n]}"
        if n in shapes and n in again
        else f"{n} {'added' if n in shapes else 'missing'}"
        for n in sorted(set(shapes) | set(again))
        if shapes.get(n) != again.get(n)
    ]
    return f"{prefix}: its tensors differ from {_short(repr(rebuilt))}: {', '.join(differ[:5])}"


def _tied_parameters(model: nn.Module) -> list[Unrepresentable]:
    found: list[Unrepresentable] = []
    first: dict[int, str] = {}
    for module_path, module in model.named_modules(remove_duplicate=True):
        for local, tensor in (*module._parameters.items(), *module._buffers.items()):
            if tensor is None:
                continue
            name = f"{module_path}.{local}" if module_path else local
            if id(tensor) in first:
                found.append(
                    Unrepresentable(
                        module_path,
                        type(module).__name__,
                        f"{local} is the same tensor as {first[id(tensor)]} (tied weights): a project cannot tie them",
                    )
                )
            else:
                first[id(tensor)] = name
    return found


def _hidden_attributes(model: nn.Module) -> list[Unrepresentable]:
    """Modules, parameters and tensors kept where torch's registration does not see them."""
    found = []
    for warning in lint(model):
        owner_path, _, attribute = warning.path.rpartition(".")
        owner = model.get_submodule(owner_path)
        value = owner.__dict__.get(attribute)
        kind = type(value).__name__
        what = f"plain {kind} attribute" if warning.kind != "plain-tensor" else "plain tensor attribute"
        found.append(Unrepresentable(warning.path, kind, f"{what}: {warning.message}"))
    return found


class _all_trainable:
    """requires_grad on for the check (a rebuilt module trains everything), restored after;
    frozen parameters go into the project's freeze section instead."""

    def __init__(self, module: nn.Module) -> None:
        self.frozen = [p for p in module.parameters() if not p.requires_grad]

    def __enter__(self) -> None:
        for parameter in self.frozen:
            parameter.requires_grad_(True)

    def __exit__(self, *exc) -> None:
        for parameter in self.frozen:
            parameter.requires_grad_(False)


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
            first = module.self_attn.batch_first
        return InputSpec([2, 16, size] if first else [16, 2, size])
    return InputSpec([2, size])


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_REPR else text[: SHOWN_REPR - 3] + "..."


__all__ = [
    "Unrepresentable",
    "UnrepresentableError",
    "ImportResult",
    "import_project",
    "project_from_module",
    "find_unrepresentable",
    "guess_inputs",
]

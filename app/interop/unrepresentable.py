"""Why a module cannot become a spec: the parts of a network an editable project cannot hold.

A custom class with its own forward, a torch module with no layer type, arguments changed after
construction, a module used twice, tied weights, hooks, parametrizations, plain-list attributes:
:func:`find_unrepresentable` lists every one with its module path and reason.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from torch import nn
from torch.nn.utils import parametrize

from app.errors import ModelLoadError, SpecError
from app.network.build import build
from app.network.catalog import catalog, type_name_of
from app.network.lint import lint
from app.network.recover import _recover, _slot_modules, spec_from_module  # recover's walk, shared not copied
from app.network.usermodel import USER_MODULE_PREFIX

SHOWN_REPR = 120


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


def find_unrepresentable(model: nn.Module) -> list[Unrepresentable]:
    """Every submodule and attribute a project cannot hold, with the reason, in module order."""
    found: list[Unrepresentable] = []
    _walk(model, "", found, {})
    found += _tied_parameters(model)
    found += _hidden_attributes(model)
    if not found:
        with all_trainable(model):
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
                    f"has parametrizations on {', '.join(cast(nn.ModuleDict, module.parametrizations))} "
                    "(torch.nn.utils.parametrize, "
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


def _custom_reason(cls: type[nn.Module]) -> str:
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
    with all_trainable(module):
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


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_REPR else text[: SHOWN_REPR - 3] + "..."


class all_trainable:
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

"""Warnings PyTorch does not give: modules, parameters and tensors it cannot see.

``nn.Module.__setattr__`` registers a module, a Parameter or a buffer only when it is assigned
directly. Put the same things in a plain list, tuple, dict or set, or keep a plain tensor (alone
or in such a container), and ``parameters()``, ``state_dict()``, ``.to(device)`` and so the
optimizer never see them, with no error at all. :func:`lint` finds those attributes by looking at
each module's instance ``__dict__``, the place such attributes end up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

_CONTAINERS = (list, tuple, dict, set, frozenset)
_MODULE_FIX: dict[type, str] = {
    list: "nn.ModuleList",
    tuple: "nn.ModuleList",
    set: "nn.ModuleList",
    dict: "nn.ModuleDict",
}
_PARAMETER_FIX: dict[type, str] = {
    list: "nn.ParameterList",
    tuple: "nn.ParameterList",
    set: "nn.ParameterList",
    dict: "nn.ParameterDict",
}
_UNSEEN = "that model.parameters() (and so the optimizer, .to(device) and state_dict) will never see"


@dataclass
class LintWarning:
    path: str  # module path + attribute ("encoder.layers"); a root attribute has no prefix ("scale")
    kind: str  # "module-container" | "parameter-container" | "tensor-container" | "plain-tensor"
    message: str  # the full sentence shown to the user
    hidden_params: int  # parameter elements that parameters() (and so the optimizer) never sees

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class _Registered:
    """What the module tree already reaches, by identity."""

    modules: set[int]
    tensors: set[int]

    @classmethod
    def of(cls, model: nn.Module) -> _Registered:
        modules = {id(m) for m in model.modules()}
        tensors = {id(p) for p in model.parameters()} | {id(b) for b in model.buffers()}
        return cls(modules, tensors)


def lint(model: nn.Module) -> list[LintWarning]:
    """Every attribute of every module that holds what PyTorch's registration does not see."""
    registered = _Registered.of(model)
    warnings: list[LintWarning] = []
    for module_path, module in model.named_modules(remove_duplicate=True):
        for attribute, value in list(getattr(module, "__dict__", {}).items()):
            if attribute.startswith("_"):
                continue  # torch's own bookkeeping (_parameters, _flat_weights, hooks, ...)
            if attribute in _recomputed(module):
                continue
            path = f"{module_path}.{attribute}" if module_path else attribute
            warnings.extend(_check(path, attribute, value, registered))
    return warnings


def _recomputed(module: nn.Module) -> set[str]:
    """Attributes a forward pre-hook rebuilds from registered tensors before every call.

    The old-style ``spectral_norm``, ``weight_norm`` and ``prune`` keep ``weight`` as a plain
    tensor computed from ``weight_orig`` (or ``weight_g``/``weight_v``): seen, just derived.
    """
    names: set[str] = set()
    for hook in getattr(module, "_forward_pre_hooks", {}).values():
        for field in ("name", "_tensor_name"):
            name = getattr(hook, field, None)
            if isinstance(name, str):
                names.add(name)
    return names


def _check(path: str, attribute: str, value: Any, registered: _Registered) -> list[LintWarning]:
    if isinstance(value, torch.Tensor):
        if id(value) in registered.tensors:
            return []
        return [_plain_tensor(path, attribute, value)]
    if not isinstance(value, _CONTAINERS):
        return []
    items, inner = _items(value)
    modules = _unique(x for x in items if isinstance(x, nn.Module) and id(x) not in registered.modules)
    parameters = _unique(x for x in items if isinstance(x, nn.Parameter) and id(x) not in registered.tensors)
    tensors = _unique(
        x
        for x in items
        if isinstance(x, torch.Tensor) and not isinstance(x, nn.Parameter) and id(x) not in registered.tensors
    )
    found = []
    if modules:
        found.append(_module_container(path, attribute, value, inner, modules, registered))
    if parameters:
        found.append(_parameter_container(path, attribute, value, inner, parameters))
    if tensors:
        found.append(_tensor_container(path, attribute, value, tensors))
    return found


def _items(container: Any) -> tuple[list[Any], type | None]:
    """The container's items, one nested level flattened, and the nested container's type."""
    items: list[Any] = []
    inner: type | None = None
    for item in _values(container):
        if isinstance(item, _CONTAINERS):
            inner = inner or _base(item)
            items.extend(_values(item))
        else:
            items.append(item)
    return items, inner


def _values(container: Any) -> Iterable[Any]:
    return container.values() if isinstance(container, dict) else container


def _base(container: Any) -> type:
    for base in (dict, tuple, frozenset, set, list):
        if isinstance(container, base):
            return set if base is frozenset else base
    return list


def _unique(objects: Iterable[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for obj in objects:
        seen.setdefault(id(obj), obj)
    return list(seen.values())


def _kind_of(container: Any) -> str:
    name = type(container).__name__
    return f"plain {name}" if type(container) in _CONTAINERS else f"{name} (a plain {_base(container).__name__})"


def _fix(fixes: dict[type, str], outer: Any, inner: type | None) -> str:
    text = fixes[_base(outer)]
    if inner is not None:
        text += f" of {fixes[inner]}"
    return text


def _module_container(
    path: str, attribute: str, value: Any, inner: type | None, modules: list[nn.Module], registered: _Registered
) -> LintWarning:
    hidden = _unique(p for m in modules for p in m.parameters() if id(p) not in registered.tensors)
    hidden_params = sum(p.numel() for p in hidden)
    count = _plural(len(modules), "module")
    message = (
        f"`{attribute}` is a {_kind_of(value)} holding {count} with {_plural(hidden_params, 'parameter')} "
        f"{_UNSEEN}; use {_fix(_MODULE_FIX, value, inner)}"
    )
    return LintWarning(path, "module-container", message, hidden_params)


def _parameter_container(
    path: str, attribute: str, value: Any, inner: type | None, parameters: list[nn.Parameter]
) -> LintWarning:
    hidden_params = sum(p.numel() for p in parameters)
    message = (
        f"`{attribute}` is a {_kind_of(value)} holding {_plural(len(parameters), 'nn.Parameter')} "
        f"({_plural(hidden_params, 'element')}) {_UNSEEN}; use {_fix(_PARAMETER_FIX, value, inner)}"
    )
    return LintWarning(path, "parameter-container", message, hidden_params)


def _tensor_container(path: str, attribute: str, value: Any, tensors: list[torch.Tensor]) -> LintWarning:
    learnable = [t for t in tensors if t.requires_grad and t.is_leaf]
    elements = sum(t.numel() for t in tensors)
    grad = f", {len(learnable)} of them requiring grad, so the optimizer never updates them" if learnable else ""
    message = (
        f"`{attribute}` is a {_kind_of(value)} holding {_plural(len(tensors), 'tensor')} "
        f"({_plural(elements, 'element')}){grad}: they are not in parameters() or state_dict() and do not move "
        "with .to(device); register each with register_buffer if it is state, "
        "or use nn.ParameterList / nn.ParameterDict of nn.Parameter if they should learn"
    )
    return LintWarning(path, "tensor-container", message, sum(t.numel() for t in learnable))


def _plain_tensor(path: str, attribute: str, tensor: torch.Tensor) -> LintWarning:
    learnable = tensor.requires_grad and tensor.is_leaf
    what = "a plain nn.Parameter" if isinstance(tensor, nn.Parameter) else "a plain tensor"
    grad = " that requires grad, so the optimizer never updates it" if learnable else ""
    message = (
        f"`{attribute}` is {what} ({_plural(tensor.numel(), 'element')}){grad}: it is not in parameters() "
        "or state_dict() and does not move with .to(device); wrap it in nn.Parameter if it should learn, "
        "or register_buffer if it is state"
    )
    return LintWarning(path, "plain-tensor", message, tensor.numel() if learnable else 0)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

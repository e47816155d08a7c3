"""Selectors: which parameters a rule (an optimizer group, an init scheme, a freeze) applies to.

A selector is a path pattern string, or an object ``{"paths": [...], "types": [...]}``:

- a path pattern matches a parameter's full name (``classifier.1.weight``) or any module above it:
  ``features`` takes every parameter under ``features``; ``classifier.*`` and ``*.bias`` are
  shell-style patterns on the full name;
- a type is a catalog layer type (``BatchNorm2d``) or a family (``normalization``) of the module
  that owns the parameter directly.

A selector with both keys matches what both match (the common "biases of Linear layers").
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from torch import nn

from app.errors import NNStudioError
from app.network.catalog import FAMILIES, layer_type

SelectorJSON = str | dict


@dataclass(frozen=True)
class Selector:
    paths: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    def matches(self, name: str, owner_type: str) -> bool:
        if self.paths and not any(_path_matches(p, name) for p in self.paths):
            return False
        if self.types and not any(_type_matches(t, owner_type) for t in self.types):
            return False
        return True

    def to_json(self) -> SelectorJSON:
        if not self.types and len(self.paths) == 1:
            return self.paths[0]
        data: dict = {}
        if self.paths:
            data["paths"] = list(self.paths)
        if self.types:
            data["types"] = list(self.types)
        return data


def _path_matches(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, pattern + ".*")


def _type_matches(wanted: str, owner_type: str) -> bool:
    if wanted in FAMILIES:
        entry = layer_type(owner_type)
        return entry is not None and entry.family == wanted
    return wanted == owner_type


def parse_selector(data: object, where: str) -> Selector:
    if isinstance(data, str):
        return Selector(paths=(_pattern(data, where),), text=data)
    if not isinstance(data, dict) or not data:
        raise NNStudioError("must be a path pattern or an object with 'paths' and/or 'types'", where)
    unknown = [key for key in data if key not in ("paths", "types")]
    if unknown:
        raise NNStudioError(f"unknown key {unknown[0]!r} (expected 'paths', 'types')", where)
    paths = tuple(_pattern(p, f"{where}.paths[{i}]") for i, p in enumerate(_strings(data, "paths", where)))
    types = _strings(data, "types", where)
    for i, wanted in enumerate(types):
        if wanted not in FAMILIES and layer_type(wanted) is None:
            raise NNStudioError(f"{wanted!r} is neither a layer type nor a family", f"{where}.types[{i}]")
    if not paths and not types:
        raise NNStudioError("selects nothing: give 'paths' or 'types'", where)
    return Selector(paths=paths, types=tuple(types), text=_describe(paths, types))


def _strings(data: dict, key: str, where: str) -> tuple[str, ...]:
    values = data.get(key, [])
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise NNStudioError("must be a list of strings", f"{where}.{key}")
    return tuple(values)


def _pattern(text: str, where: str) -> str:
    if not isinstance(text, str) or not text.strip() or len(text) > 500:
        raise NNStudioError("must be a non-empty path pattern such as 'features' or '*.bias'", where)
    return text.strip()


def _describe(paths: tuple[str, ...], types: tuple[str, ...]) -> str:
    parts = list(paths) + [f"type {t}" for t in types]
    return " & ".join(parts)


def named_parameters_with_owner(model: nn.Module) -> list[tuple[str, nn.Parameter, str]]:
    """(full name, parameter, type name of the module that owns it directly), shared ones once."""
    seen: set[int] = set()
    result = []
    for module_path, module in model.named_modules():
        for local, parameter in module.named_parameters(recurse=False):
            if id(parameter) in seen:
                continue
            seen.add(id(parameter))
            name = f"{module_path}.{local}" if module_path else local
            result.append((name, parameter, type(module).__name__))
    return result


def select(model: nn.Module, selector: Selector) -> list[tuple[str, nn.Parameter]]:
    return [(name, p) for name, p, owner in named_parameters_with_owner(model) if selector.matches(name, owner)]

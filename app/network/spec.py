"""The network spec: a tree of layers, containers and glue blocks, as plain JSON-able data.

A :class:`Node` is one module. Its ``children`` are, for a Sequential, ModuleList, Parallel
or Chain, the modules it holds in order: positional (``name`` None, shown as ``(0)``) or named
as with ``add_module``; for a block with slots (Residual, TransformerEncoder) the modules
passed to its constructor, each named by its slot. ``args`` holds only the constructor
arguments that differ from their defaults, so every network has one canonical spec.
"""

from __future__ import annotations

import copy
import keyword
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from torch import nn

from app.errors import SpecError
from app.network.argtypes import canonical, check_value
from app.network.catalog import LayerType, layer_type

MAX_DEPTH = 64
MAX_NODES = 10_000
NODE_KEYS = ("type", "name", "args", "children")
_MODULE_ATTRIBUTES = frozenset(dir(nn.Module()))


@dataclass
class Node:
    type: str
    args: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    name: str | None = None

    def to_json(self) -> dict:
        data: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            data = {"name": self.name, **data}
        if self.args:
            data["args"] = copy.deepcopy(self.args)
        if self.children:
            data["children"] = [child.to_json() for child in self.children]
        return data

    @classmethod
    def from_json(cls, data: Any, where: str = "network") -> Node:
        """Parse and validate a spec; every error names its JSON path."""
        node = _parse(data, where, depth=0, parent=None)
        validate(node, where)
        return node

    def clone(self) -> Node:
        return copy.deepcopy(self)

    def child_names(self) -> list[str]:
        """The names the built module registers its children under."""
        return [child.name if child.name is not None else str(i) for i, child in enumerate(self.children)]

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """(module path, node) for this node and every descendant, in named_modules() order."""
        yield prefix, self
        for name, child in zip(self.child_names(), self.children):
            yield from child.walk(f"{prefix}.{name}" if prefix else name)

    def find(self, module_path: str) -> Node | None:
        for path, node in self.walk():
            if path == module_path:
                return node
        return None

    def __str__(self) -> str:
        return f"{self.type}({', '.join(f'{k}={v!r}' for k, v in self.args.items())})"


def layer(type_name: str, name: str | None = None, **args) -> Node:
    """A leaf node, for code and tests: ``layer("Linear", in_features=3, out_features=4)``."""
    return Node(type_name, dict(args), [], name)


def container(type_name: str, *children: Node, name: str | None = None, **args) -> Node:
    return Node(type_name, dict(args), list(children), name)


def _parse(data: Any, where: str, depth: int, parent: str | None) -> Node:
    if depth > MAX_DEPTH:
        raise SpecError(f"the network is nested more than {MAX_DEPTH} levels deep", where)
    if not isinstance(data, dict):
        raise SpecError(f"must be an object with a 'type', got {_kind(data)}", where)
    unknown = [key for key in data if key not in NODE_KEYS]
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r} (expected {', '.join(NODE_KEYS)})", where)
    if "type" not in data:
        raise SpecError("missing key 'type'", where)
    entry = _entry(data["type"], f"{where}.type")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise SpecError(f"must be a string, got {_kind(name)}", f"{where}.name")
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise SpecError(f"must be an object, got {_kind(args)}", f"{where}.args")
    children = data.get("children", [])
    if not isinstance(children, list):
        raise SpecError(f"must be a list, got {_kind(children)}", f"{where}.children")
    parsed = [_parse(child, f"{where}.children[{i}]", depth + 1, entry.name) for i, child in enumerate(children)]
    return Node(entry.name, dict(args), parsed, name)


def _entry(type_name: Any, where: str) -> LayerType:
    entry = layer_type(type_name)
    if entry is None:
        shown = repr(type_name) if isinstance(type_name, str) else _kind(type_name)
        raise SpecError(f"unknown layer type {shown} (not in the catalog)", where)
    return entry


def validate(node: Node, where: str = "network") -> None:
    """Check a whole tree; canonicalises args (drops defaults) in place."""
    count = sum(1 for _ in node.walk())
    if count > MAX_NODES:
        raise SpecError(f"the network has {count} modules; at most {MAX_NODES} are allowed", where)
    _validate(node, where, parent=None, depth=0)


def _validate(node: Node, where: str, parent: str | None, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise SpecError(f"the network is nested more than {MAX_DEPTH} levels deep", where)
    entry = _entry(node.type, f"{where}.type")
    if node.type == "ModuleList" and parent != "Chain":
        raise SpecError(
            "a ModuleList has no forward of its own: put it inside a Chain, which runs its layers in order",
            where,
        )
    node.args = check_args(entry, node.args, f"{where}.args")
    _validate_children(entry, node, where)
    for i, child in enumerate(node.children):
        _validate(child, f"{where}.children[{i}]", node.type, depth + 1)


def check_args(entry: LayerType, args: dict, where: str) -> dict:
    """The canonical args (defaults dropped), or a SpecError naming the argument at fault."""
    kept = {}
    for name, value in args.items():
        info = entry.arg(name)
        if info is None:
            known = ", ".join(a.name for a in entry.args) or "none"
            raise SpecError(f"{entry.name} has no argument {name!r} (its arguments: {known})", f"{where}.{name}")
        problem = check_value(info.type, value, name)
        if problem:
            raise SpecError(problem, f"{where}.{name}")
        value = canonical(info.type, value)
        if info.required or not _same(value, info.default):
            kept[name] = value
    missing = [a.name for a in entry.args if a.required and a.name not in args]
    if missing:
        raise SpecError(f"{entry.name} needs argument {missing[0]!r}", where)
    return kept


def _same(value, default) -> bool:
    if isinstance(default, tuple):
        default = list(default)
    return isinstance(value, bool) == isinstance(default, bool) and value == default


def _validate_children(entry: LayerType, node: Node, where: str) -> None:
    if not entry.takes_children:
        if node.children:
            raise SpecError(f"{entry.name} is a layer and cannot hold children", f"{where}.children")
        return
    if entry.is_sequence:
        _validate_sequence_names(entry, node, where)
    else:
        _validate_slots(entry, node, where)


def _validate_sequence_names(entry: LayerType, node: Node, where: str) -> None:
    seen: set[str] = set()
    for i, (child, name) in enumerate(zip(node.children, node.child_names())):
        at = f"{where}.children[{i}].name"
        if child.name is not None:
            problem = name_problem(child.name, entry.cls)
            if entry.name == "ModuleList":
                problem = "a ModuleList's children are positional and cannot be named"
            if problem:
                raise SpecError(problem, at)
        if name in seen:
            raise SpecError(f"duplicate name {name!r} in this {entry.name}", at)
        seen.add(name)


def name_problem(name: str, container_cls: type = nn.Sequential) -> str | None:
    """Why ``name`` cannot name a child added with add_module, or None."""
    if not name:
        return "a name cannot be empty"
    if not name.isidentifier() or keyword.iskeyword(name):
        return f"{name!r} is not a valid Python identifier"
    if name in _MODULE_ATTRIBUTES or hasattr(container_cls, name):
        return f"{name!r} is already an attribute of {container_cls.__name__}"
    return None


def _validate_slots(entry: LayerType, node: Node, where: str) -> None:
    seen: set[str] = set()
    for i, child in enumerate(node.children):
        at = f"{where}.children[{i}].name"
        slots = ", ".join(s.name for s in entry.slots)
        if child.name is None or entry.slot(child.name) is None:
            raise SpecError(f"a child of {entry.name} must be named after its slot ({slots})", at)
        if child.name in seen:
            raise SpecError(f"slot {child.name!r} is filled twice", at)
        seen.add(child.name)
    for slot in entry.slots:
        if slot.required and slot.name not in seen:
            raise SpecError(f"{entry.name} needs a child named {slot.name!r}", f"{where}.children")
    order = [s.name for s in entry.slots]
    # every child's name is a slot's name: checked above
    node.children.sort(key=lambda child: order.index(cast(str, child.name)))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )

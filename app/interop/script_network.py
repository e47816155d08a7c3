"""The network of an exported script: a spec written as the torch code that builds it.

Containers whose children are all positional become one nested expression, as a person would
write ``nn.Sequential(nn.Linear(2, 64), nn.ReLU())``. A container with named children becomes
``container.add_module(name, child)`` lines, as in the seed note. Modules are constructed in
the same order as :func:`app.network.build.build` constructs them (every child before its parent, the
children in order), so the same seed gives the same default initialisation.
"""

from __future__ import annotations

import inspect
import keyword

from app.network import blocks
from app.network.argtypes import to_python
from app.network.catalog import layer_type
from app.network.spec import Node

INDENT = "    "
# Names the script itself uses: a local variable must never hide them.
RESERVED = frozenset({"nn", "torch", "np", "math", "types", "functools", "operator", "csv", "argparse", "model"})


def callee(type_name: str) -> str:
    """``nn.Linear`` for torch's layers, the bare class name for the glue blocks the script defines."""
    return type_name if type_name in blocks.GLUE_BLOCKS else f"nn.{type_name}"


def call(node: Node, depth: int = 0, children: list[str] | None = None) -> str:
    """``nn.Type(child, ..., arg=value, ...)``; each child on its own line when there are any."""
    args = [f"{name}={to_python(value)!r}" for name, value in node.args.items()]
    children = children or []
    if not children:
        return f"{callee(node.type)}({', '.join(args)})"
    inner = INDENT * (depth + 1)
    lines = "\n".join(f"{inner}{item}," for item in (*children, *args))
    if node.type == "ModuleList":  # it takes one list of modules
        return f"nn.ModuleList([\n{lines}\n{INDENT * depth}])"
    return f"{callee(node.type)}(\n{lines}\n{INDENT * depth})"


def glue_types(node: Node) -> list[str]:
    """The glue blocks a network uses, in the order blocks.py defines them."""
    used = {n.type for _, n in node.walk()}
    return [name for name in blocks.GLUE_BLOCKS if name in used]


def glue_source(names: list[str]) -> str:
    """The glue blocks' own source: the script runs exactly the code nnstudio runs."""
    return "\n\n\n".join(inspect.getsource(blocks.GLUE_BLOCKS[name]).rstrip() for name in names)


def needs_statements(node: Node) -> bool:
    """Whether the node (or one below it) has children registered by name, i.e. add_module lines."""
    entry = layer_type(node.type)
    named = entry is not None and entry.is_sequence and any(child.name is not None for child in node.children)
    return named or any(needs_statements(child) for child in node.children)


class NetworkWriter:
    """Writes the body of ``build_network()``: statements, then ``return <expression>``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.taken: set[str] = set(RESERVED) | set(blocks.GLUE_BLOCKS)

    def write(self, root: Node) -> list[str]:
        expression = self.expression(root, "network", 1)
        self.lines.append(f"return {expression}")
        return [INDENT + line for line in self.lines]

    def expression(self, node: Node, hint: str, depth: int) -> str:
        entry = layer_type(node.type)
        assert entry is not None, node.type  # the project was validated: every type is in the catalog
        if not node.children:
            return call(node, depth)
        if not needs_statements(node):
            children = [self.expression(child, "", depth + 1) for child in node.children]
            if not entry.is_sequence:  # slots are passed by name: Residual(body=..., projection=...)
                children = [f"{child.name}={text}" for child, text in zip(node.children, children)]
            return call(node, depth, children)
        if entry.is_sequence:
            return self._add_module_lines(node, hint)
        return self._slots_as_variables(node, depth)

    def _add_module_lines(self, node: Node, hint: str) -> str:
        name = self._fresh(hint, node.type)
        self.lines.append(f"{name} = {call(node, 1)}")
        for child_name, child in zip(node.child_names(), node.children):
            expression = self.expression(child, child_name, 1)
            self.lines.append(f"{name}.add_module({child_name!r}, {expression})")
        return name

    def _slots_as_variables(self, node: Node, depth: int) -> str:
        # Each slot's module is made (with everything below it) before the next one starts.
        values = []
        for child in node.children:
            expression = self.expression(child, child.name or "", 1)  # slot children are always named
            if not expression.isidentifier():
                variable = self._fresh(child.name, child.type)
                self.lines.append(f"{variable} = {expression}")
                expression = variable
            values.append(f"{child.name}={expression}")
        return call(node, depth, values)

    def _fresh(self, hint: str | None, type_name: str) -> str:
        base = hint if hint and hint.isascii() and hint.isidentifier() and not keyword.iskeyword(hint) else ""
        base = base or type_name.lower()
        name, count = base, 1
        while name in self.taken:
            count += 1
            name = f"{base}_{count}"
        self.taken.add(name)
        return name

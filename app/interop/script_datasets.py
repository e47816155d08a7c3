"""The built-in datasets for exported scripts: :mod:`app.data.synthetic`'s own definitions.

A script carries the source of the generator its project uses and of every module-level
function and constant that generator reaches (found by name), in app/data/synthetic.py's order, with
their comments and docstrings. Nothing is copied by hand, so the script's data is the app's;
``tests/core/interop/test_script.py`` checks that both give the same samples.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass

from app.data import synthetic
from app.data.datasets import generator_of

HEADER = "# nnstudio's own generator (app/data/synthetic.py): torch only, the same samples in every run.\n\n\n"


@dataclass(frozen=True)
class Definition:
    """One top-level function or constant of app/data/synthetic.py."""

    text: str  # its source, with the comment lines right above it
    blank_lines_before: int
    defines: frozenset[str]
    uses: frozenset[str]


def generator_source(args: dict) -> str:
    """The definitions the generator of a parsed built-in dataset needs, as script text."""
    function, _ = generator_of(args)
    definitions = _definitions()
    needed = _reachable(function.__name__, definitions)
    parts, previous = [], None
    for index, definition in enumerate(definitions):
        if not definition.defines & needed:
            continue
        if previous is not None:
            # The module's own spacing between neighbours; two blank lines where something is left out.
            blank_lines = definition.blank_lines_before if previous == index - 1 else 2
            parts.append("\n" * (blank_lines + 1))
        parts.append(definition.text)
        previous = index
    return HEADER + "".join(parts)


def generator_call(args: dict) -> str:
    """``make_spirals(size=1500, classes=3, noise=0.2, seed=0)`` for a parsed dataset."""
    function, kwargs = generator_of(args)
    return f"{function.__name__}({', '.join(f'{key}={value!r}' for key, value in kwargs.items())})"


def _definitions() -> list[Definition]:
    source = inspect.getsource(synthetic)
    lines = source.splitlines()
    definitions = []
    for node in ast.parse(source).body:
        defines = _defined_names(node)
        if not defines:
            continue  # the module's docstring and imports
        first = node.lineno - 1
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1
        blank = first
        while blank > 0 and not lines[blank - 1].strip():
            blank -= 1
        uses = {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}
        text = "\n".join(lines[first : node.end_lineno])
        definitions.append(Definition(text, first - blank, frozenset(defines), frozenset(uses)))
    return definitions


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {target.id for target in node.targets if isinstance(target, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _reachable(name: str, definitions: list[Definition]) -> set[str]:
    """``name`` and every module-level name its definition uses, and theirs, and so on."""
    by_name = {defined: definition for definition in definitions for defined in definition.defines}
    reached: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in by_name and current not in reached:
            reached.add(current)
            pending += by_name[current].uses
    return reached

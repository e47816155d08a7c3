"""Any module's tree of submodules as spec nodes, for the views that draw specs (the network tree,
the diagram) to draw a Python network too. Read-only: ``type`` is the class name, ``args`` are
empty, and such a tree is never built."""

from __future__ import annotations

from torch import nn

from app.network.spec import Node


def module_tree(module: nn.Module) -> Node:
    """``module``'s children as nodes, named as ``named_modules()`` names them (a child called by its
    position, as in a Sequential, stays positional: ``(0)``)."""
    children = []
    for index, (name, child) in enumerate(module.named_children()):
        node = module_tree(child)
        node.name = None if name == str(index) else name
        children.append(node)
    return Node(type(module).__name__, {}, children)

"""Addresses in a spec tree: a node's address is the tuple of child indices from the root, its
module path the dotted names torch gives it (``features.0``; ``""`` is the root)."""

from __future__ import annotations

from app.network.spec import Node

Address = tuple[int, ...]


def address_of_path(network: Node, module_path: str) -> Address | None:
    """The address of the node at a module path ("" is the root), or None when there is none."""
    if module_path == "":
        return ()
    node, address = network, []
    for part in module_path.split("."):
        names = node.child_names()
        if part not in names:
            return None
        index = names.index(part)
        address.append(index)
        node = node.children[index]
    return tuple(address)


def path_of_address(network: Node, address: Address) -> str | None:
    """The module path of the node at an address, or None when the address is not in the tree."""
    node, parts = network, []
    for index in address:
        if not 0 <= index < len(node.children):
            return None
        parts.append(node.child_names()[index])
        node = node.children[index]
    return ".".join(parts)


def node_at(network: Node, address: Address) -> Node | None:
    node = network
    for index in address:
        if not 0 <= index < len(node.children):
            return None
        node = node.children[index]
    return node

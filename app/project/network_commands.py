"""Undoable edits on a document's network.

Each command checks everything it can before touching the tree and raises :class:`EditError`
with the reason and the JSON path at fault; the document is then exactly as it was. After it
changes the tree, the whole network is validated on a clone; if that fails the command puts
everything back and raises. Undo restores the very same objects, so undoing every edit gives
a network equal to (and with the same JSON as) the one before.

Addresses are tuples of child indices from the root (see :mod:`app.project.document`).
"""

from __future__ import annotations

from app.errors import EditError, SpecError
from app.network.argtypes import to_json
from app.network.catalog import layer_type
from app.network.spec import Node, check_args
from app.project.document import (
    Address,
    Document,
    EditCommand,
    after_removal,
    as_address,
    check_fits,
    check_removable,
    entry_of,
    json_path,
    label,
    slot_index,
)

__all__ = [
    "AddNode",
    "RemoveNode",
    "MoveNode",
    "RenameNode",
    "SetArgument",
    "WrapInContainer",
    "DuplicateNode",
    "free_name",
]


class AddNode(EditCommand):
    """Insert a copy of ``node`` at ``index`` of a sequence container, or into a free slot
    of a slot block when ``node.name`` names it (``index`` is then ignored). ``index`` None
    appends."""

    kind = "add"

    def __init__(self, parent_address: Address, index: int | None, node: Node) -> None:
        self.parent_address = as_address(parent_address)
        self.index = index
        if not isinstance(node, Node):
            raise EditError(f"can only add a Node, got {type(node).__name__}")
        self.node = node.clone()
        self._at = 0  # set by _check, which runs before every do
        self._text = f"add {label(self.node)}" if self.node.name else f"add {self.node.type}"

    def _check(self, document: Document) -> None:
        parent = document.node_at(self.parent_address)
        where = json_path(self.parent_address)
        check_fits(parent, self.parent_address, self.node)
        if not entry_of(parent, where).is_sequence:
            self._at = slot_index(parent, self.node.name)
        elif self.index is None:
            self._at = len(parent.children)
        elif (
            isinstance(self.index, int) and not isinstance(self.index, bool) and 0 <= self.index <= len(parent.children)
        ):
            self._at = self.index
        else:
            raise EditError(f"index {self.index!r} is outside 0..{len(parent.children)}", where)
        self._text = f"add {label(self.node, self._at)}"

    def _apply(self, document: Document) -> None:
        document.node_at(self.parent_address).children.insert(self._at, self.node)

    def _revert(self, document: Document) -> None:
        del document.node_at(self.parent_address).children[self._at]

    def _adopt(self, document: Document, checked: Node) -> None:
        address = (*self.parent_address, self._at)
        canonical = checked
        for index in address:
            canonical = canonical.children[index]
        document.node_at(self.parent_address).children[self._at] = canonical
        self.node = canonical

    def changed_address(self) -> Address:
        return self.parent_address


class RemoveNode(EditCommand):
    kind = "remove"

    def __init__(self, address: Address) -> None:
        self.address = as_address(address)
        self._removed: Node | None = None

    def _check(self, document: Document) -> None:
        if not self.address:
            raise EditError("the root network cannot be removed", json_path(()))
        node = document.node_at(self.address)
        parent = document.parent_of(self.address)
        check_removable(parent, self.address[:-1], node)
        self._removed = node
        self._text = f"remove {label(node, self.address[-1])}"

    def _apply(self, document: Document) -> None:
        del document.node_at(self.address[:-1]).children[self.address[-1]]

    def _revert(self, document: Document) -> None:
        assert self._removed is not None  # set by _check, before the do this undoes
        document.node_at(self.address[:-1]).children.insert(self.address[-1], self._removed)

    def changed_address(self) -> Address:
        return self.address[:-1]


class MoveNode(EditCommand):
    """Move a node to ``index`` of the container at ``new_parent_address``.

    Both addresses are read in the tree as it is before the move; ``index`` is the node's
    position among the new parent's children after it (ignored for a slot block).
    """

    kind = "move"

    def __init__(self, address: Address, new_parent_address: Address, index: int | None) -> None:
        self.address = as_address(address)
        self.new_parent_address = as_address(new_parent_address)
        self.index = index
        self._target: Address = ()
        self._at = 0

    def changes_nothing(self, document: Document) -> bool:
        self._check(document)
        return self._target + (self._at,) == self.address

    def _check(self, document: Document) -> None:
        if not self.address:
            raise EditError("the root network cannot be moved", json_path(()))
        node = document.node_at(self.address)
        old_parent = document.parent_of(self.address)
        new_parent = document.node_at(self.new_parent_address)
        where = json_path(self.new_parent_address)
        if self.new_parent_address[: len(self.address)] == self.address:
            raise EditError(
                f"cannot move {label(node, self.address[-1])} into itself or one of its own children", where
            )
        same_parent = new_parent is old_parent
        if not same_parent:
            check_removable(old_parent, self.address[:-1], node)
        check_fits(new_parent, self.new_parent_address, node, ignoring=(node,))
        self._target = after_removal(self.new_parent_address, self.address)
        room = len(new_parent.children) - (1 if same_parent else 0)
        if not entry_of(new_parent, where).is_sequence:
            siblings = Node(new_parent.type, {}, [c for c in new_parent.children if c is not node])
            self._at = slot_index(siblings, node.name)
        elif self.index is None:
            self._at = room
        elif isinstance(self.index, int) and not isinstance(self.index, bool) and 0 <= self.index <= room:
            self._at = self.index
        else:
            raise EditError(f"index {self.index!r} is outside 0..{room}", where)
        self._text = f"move {label(node, self.address[-1])}"

    def _apply(self, document: Document) -> None:
        node = document.node_at(self.address)
        del document.node_at(self.address[:-1]).children[self.address[-1]]
        document.node_at(self._target).children.insert(self._at, node)

    def _revert(self, document: Document) -> None:
        node = document.node_at((*self._target, self._at))
        del document.node_at(self._target).children[self._at]
        document.node_at(self.address[:-1]).children.insert(self.address[-1], node)

    def changed_address(self) -> Address:
        common: list[int] = []
        for a, b in zip(self.address[:-1], self.new_parent_address):
            if a != b:
                break
            common.append(a)
        return tuple(common)


class RenameNode(EditCommand):
    """Give a child of a sequence container a new name; None makes it positional."""

    kind = "rename"

    def __init__(self, address: Address, new_name: str | None) -> None:
        self.address = as_address(address)
        self.new_name = new_name
        self._old_name: str | None = None

    def changes_nothing(self, document: Document) -> bool:
        self._check(document)
        return self._old_name == self.new_name

    def _check(self, document: Document) -> None:
        if not self.address:
            raise EditError("the root network has no name to change", json_path(()))
        if self.new_name is not None and not isinstance(self.new_name, str):
            raise EditError(f"a name must be a string or None, got {type(self.new_name).__name__}")
        node = document.node_at(self.address)
        parent = document.parent_of(self.address)
        where = json_path(self.address)
        if not entry_of(parent, where).is_sequence:
            raise EditError(f"{node.name!r} is a slot of {parent.type} and is named by it", where)
        self._old_name = node.name
        renamed = Node(node.type, {}, [], self.new_name)
        check_fits(parent, self.address[:-1], renamed, ignoring=(node,))
        old = label(node, self.address[-1])
        if self.new_name is None:
            self._text = f"make {old} positional"
        else:
            self._text = f"rename {old} to {self.new_name!r}"

    def _apply(self, document: Document) -> None:
        document.node_at(self.address).name = self.new_name

    def _revert(self, document: Document) -> None:
        document.node_at(self.address).name = self._old_name

    def changed_address(self) -> Address:
        return self.address


class SetArgument(EditCommand):
    """Set one constructor argument; None or the default value removes it from the spec."""

    kind = "set_argument"

    def __init__(self, address: Address, arg_name: str, value) -> None:
        self.address = as_address(address)
        self.arg_name = arg_name
        self.value = value
        self._old: dict = {}
        self._new: dict = {}

    def changes_nothing(self, document: Document) -> bool:
        self._check(document)
        return self._old == self._new

    def _check(self, document: Document) -> None:
        node = document.node_at(self.address)
        where = f"{json_path(self.address)}.args"
        entry = entry_of(node, where)
        info = entry.arg(self.arg_name)
        if info is None:
            known = ", ".join(a.name for a in entry.args) or "none"
            raise EditError(
                f"{node.type} has no argument {self.arg_name!r} (its arguments: {known})", f"{where}.{self.arg_name}"
            )
        args = {k: v for k, v in node.args.items() if k != self.arg_name}
        if self.value is not None:
            args[self.arg_name] = to_json(self.value)
        elif info.required:
            raise EditError(f"{node.type} needs argument {self.arg_name!r}", f"{where}.{self.arg_name}")
        try:
            new = check_args(entry, args, where)
        except SpecError as error:
            raise EditError(error.message, error.where) from error
        order = [k for k in node.args if k in new] + [k for k in new if k not in node.args]
        self._old = dict(node.args)
        self._new = {k: new[k] for k in order}
        name = label(node, self.address[-1] if self.address else None)
        if self.arg_name in self._new:
            self._text = f"set {self.arg_name} of {name} to {self._new[self.arg_name]!r}"
        else:
            self._text = f"reset {self.arg_name} of {name}"

    def _apply(self, document: Document) -> None:
        document.node_at(self.address).args = dict(self._new)

    def _revert(self, document: Document) -> None:
        document.node_at(self.address).args = dict(self._old)

    def changed_address(self) -> Address:
        return self.address


class WrapInContainer(EditCommand):
    """Replace contiguous siblings with one new container holding them in order.

    In a slot block a single child can be wrapped: the container takes its slot name and the
    child becomes the container's positional first child.
    """

    kind = "wrap"

    def __init__(self, addresses: list[Address], container_type: str = "Sequential", name: str | None = None) -> None:
        self.addresses = sorted(as_address(a) for a in addresses)
        self.container_type = container_type
        self.name = name
        self._parent: Address = ()
        self._start = 0
        self._wrapped: list[Node] = []
        self._slot_name: str | None = None

    def _check(self, document: Document) -> None:
        if not self.addresses:
            raise EditError("choose at least one module to wrap")
        if any(not a for a in self.addresses):
            raise EditError("the root network cannot be wrapped here", json_path(()))
        parent_address = self.addresses[0][:-1]
        if any(a[:-1] != parent_address for a in self.addresses):
            raise EditError("only modules in the same container can be wrapped together", json_path(parent_address))
        indices = [a[-1] for a in self.addresses]
        if indices != list(range(indices[0], indices[0] + len(indices))):
            raise EditError("only modules next to each other can be wrapped together", json_path(parent_address))
        entry = layer_type(self.container_type)
        if entry is None or not entry.is_sequence:
            raise EditError(
                f"can only wrap in a Sequential, ModuleList, Parallel or Chain, not {self.container_type!r}",
                json_path(parent_address),
            )
        nodes = [document.node_at(a) for a in self.addresses]
        parent = document.node_at(parent_address)
        self._slot_name = None
        if not entry_of(parent, json_path(parent_address)).is_sequence:
            if len(nodes) > 1:
                raise EditError(
                    f"a slot of {parent.type} holds one module: wrap them one at a time", json_path(parent_address)
                )
            if self.name is not None:
                raise EditError(f"the container takes the slot's name {nodes[0].name!r}", json_path(parent_address))
            self._slot_name = nodes[0].name
        container = Node(self.container_type, {}, [], self._slot_name or self.name)
        for node in nodes:
            if node.type == "ModuleList" and self.container_type != "Chain":
                raise EditError(
                    "a ModuleList has no forward of its own: it can only go inside a Chain", json_path(parent_address)
                )
            if node.name is not None and self.container_type == "ModuleList" and not self._slot_name:
                raise EditError(
                    f"a ModuleList's children are positional and cannot be named: make {node.name!r} positional first",
                    json_path(parent_address),
                )
        check_fits(parent, parent_address, container, ignoring=tuple(nodes))
        self._parent, self._start, self._wrapped = parent_address, indices[0], nodes
        what = label(nodes[0], indices[0]) if len(nodes) == 1 else f"{len(nodes)} modules"
        self._text = f"wrap {what} in a {self.container_type}"

    def _apply(self, document: Document) -> None:
        children = document.node_at(self._parent).children
        end = self._start + len(self._wrapped)
        container = Node(self.container_type, {}, list(children[self._start : end]), self._slot_name or self.name)
        if self._slot_name is not None:
            container.children[0].name = None
        children[self._start : end] = [container]

    def _revert(self, document: Document) -> None:
        children = document.node_at(self._parent).children
        container = children[self._start]
        if self._slot_name is not None:
            container.children[0].name = self._slot_name
        children[self._start : self._start + 1] = container.children

    def changed_address(self) -> Address:
        return self._parent


def free_name(base: str, taken: set[str]) -> str:
    """``base`` when it is free, else base_2, base_3... (fc1_2 stays in the fc1 family)."""
    if base not in taken:
        return base
    stem = base.rsplit("_", 1)[0] if base.rsplit("_", 1)[-1].isdigit() else base
    number = 2
    while f"{stem}_{number}" in taken:
        number += 1
    return f"{stem}_{number}"


class DuplicateNode(AddNode):
    """A copy of a node right after it; a named node's copy gets a fresh name (fc1 -> fc1_2)."""

    kind = "duplicate"

    def __init__(self, address: Address) -> None:
        self.source = as_address(address)
        if not self.source:
            raise EditError("the root network cannot be duplicated", json_path(()))
        super().__init__(self.source[:-1], self.source[-1] + 1, Node("Identity"))

    def _check(self, document: Document) -> None:
        original = document.node_at(self.source)
        parent = document.parent_of(self.source)
        if not entry_of(parent, json_path(self.source[:-1])).is_sequence:
            raise EditError(
                f"{original.name!r} is a slot of {parent.type}: it holds one module", json_path(self.source)
            )
        self.node = original.clone()
        if original.name is not None:
            self.node.name = free_name(original.name, {c.name for c in parent.children if c.name})
        super()._check(document)
        self._text = f"duplicate {label(original, self.source[-1])}"

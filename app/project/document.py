"""The open document: a project whose network is edited through an undo stack.

Edits are commands (see :mod:`app.project.network_commands`) with ``do(document)`` and ``undo(document)``.
Nodes are addressed by a tuple of child indices from the root; ``()`` is the root. After
every do, undo and redo the document tells its subscribers what changed, so a view can
redraw the affected subtree without holding on to nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.errors import EditError, SpecError
from app.network.addresses import Address
from app.network.catalog import LayerType, layer_type
from app.network.spec import Node, name_problem, validate

DEFAULT_UNDO_LIMIT = 500


def json_path(address: Address, root: str = "network") -> str:
    """The JSON path of a node, as errors name it: ``network.children[0].children[2]``."""
    return root + "".join(f".children[{index}]" for index in address)


# --- where a node may go: checked before an edit touches the tree --------------------


def entry_of(node: Node, where: str) -> LayerType:
    entry = layer_type(node.type)
    if entry is None:
        raise EditError(f"unknown layer type {node.type!r} (not in the catalog)", where)
    return entry


def label(node: Node, index: int | None = None) -> str:
    """How a node is named in messages: 'fc1', or Linear (0) when it is positional."""
    if node.name is not None:
        return repr(node.name)
    return f"{node.type} ({index})" if index is not None else node.type


def check_fits(parent: Node, parent_address: Address, node: Node, ignoring: tuple[Node, ...] = ()) -> None:
    """Raise EditError unless ``node`` may become a child of ``parent`` (``ignoring`` are leaving it)."""
    where = json_path(parent_address)
    entry = entry_of(parent, where)
    siblings = [child for child in parent.children if not any(child is gone for gone in ignoring)]
    if not entry.takes_children:
        raise EditError(f"{parent.type} is a layer and cannot hold children", where)
    if node.type == "ModuleList" and parent.type != "Chain":
        raise EditError(
            "a ModuleList has no forward of its own: it can only go inside a Chain, which runs its layers in order",
            where,
        )
    if not entry.is_sequence:
        slots = ", ".join(s.name for s in entry.slots)
        if node.name is None or entry.slot(node.name) is None:
            raise EditError(f"a child of {parent.type} must be named after its slot ({slots})", where)
        if any(child.name == node.name for child in siblings):
            raise EditError(f"slot {node.name!r} of {parent.type} is already filled", where)
        return
    if node.name is None:
        return
    if parent.type == "ModuleList":
        raise EditError(
            f"a ModuleList's children are positional and cannot be named: make {node.name!r} positional first", where
        )
    problem = name_problem(node.name, entry.cls)
    if problem:
        raise EditError(problem, where)
    if any(child.name == node.name for child in siblings):
        raise EditError(f"the name {node.name!r} is already used in this {parent.type}", where)


def check_removable(parent: Node, parent_address: Address, node: Node) -> None:
    entry = entry_of(parent, json_path(parent_address))
    slot = entry.slot(node.name) if not entry.is_sequence and node.name is not None else None
    if slot is not None and slot.required:
        raise EditError(
            f"{parent.type} needs its {slot.name!r}: put another module in the slot instead",
            json_path(parent_address),
        )


def slot_index(parent: Node, name: str | None) -> int:
    """Where a slot child goes: slot blocks keep their children in the constructor's order."""
    order: list[str | None] = [slot.name for slot in entry_of(parent, "").slots]
    return sum(1 for child in parent.children if order.index(child.name) < order.index(name))


def as_address(address) -> Address:
    if (
        isinstance(address, (str, bytes))
        or not hasattr(address, "__iter__")
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in address)
    ):
        raise EditError(f"an address is a tuple of child indices, got {address!r}")
    return tuple(address)


def after_removal(address: Address, removed: Address) -> Address:
    """Where ``address`` is once the node at ``removed`` (not an ancestor of it) is gone."""
    depth = len(removed) - 1
    if len(address) > depth and address[:depth] == removed[:-1] and address[depth] > removed[-1]:
        return (*address[:depth], address[depth] - 1, *address[depth + 1 :])
    return address


class Command(Protocol):
    kind: str

    @property
    def text(self) -> str: ...

    def do(self, document: Document) -> None: ...

    def undo(self, document: Document) -> None: ...

    def changed_address(self) -> Address: ...


class EditCommand:
    """do: check, change, validate the whole network (putting things back if that fails)."""

    kind = "edit"
    _text = "edit"

    @property
    def text(self) -> str:
        return self._text

    def changes_nothing(self, document: Document) -> bool:
        return False

    def do(self, document: Document) -> None:
        self._check(document)
        self._apply(document)
        try:
            checked = document.network.clone()
            validate(checked)
        except SpecError as error:
            self._revert(document)
            raise EditError(error.message, error.where) from error
        self._adopt(document, checked)

    def undo(self, document: Document) -> None:
        self._revert(document)

    def changed_address(self) -> Address:
        return ()

    def _check(self, document: Document) -> None:
        raise NotImplementedError

    def _apply(self, document: Document) -> None:
        raise NotImplementedError

    def _revert(self, document: Document) -> None:
        raise NotImplementedError

    def _adopt(self, document: Document, checked: Node) -> None:
        """Take what validation canonicalised (only nodes this command brought in)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.text}>"


@dataclass(frozen=True)
class Changed:
    """What a subscriber is told after an edit.

    ``action`` is "do", "undo", "redo", "save" or "clear"; ``kind`` the command's kind
    ("add", "remove", "move", "rename", "set_argument", "wrap", "duplicate"; "" when no
    command ran); ``address`` the deepest node whose subtree holds the whole change; ``section``
    the project section a "section" edit replaced ("mode", "probes", ...).
    """

    action: str
    kind: str
    address: Address
    text: str = ""
    section: str = ""


class UndoStack:
    """A linear history of commands. A command that raises in ``do`` is not pushed."""

    def __init__(
        self,
        document: Document,
        limit: int = DEFAULT_UNDO_LIMIT,
        on_change: Callable[[str, Command | None], None] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("the undo limit must be at least 1")
        self.limit = limit
        self._document = document
        self._on_change = on_change
        self._commands: list[Command] = []
        self._index = 0  # commands[:index] are done, commands[index:] can be redone
        self._clean: int | None = 0  # the index at the last save; None when unreachable

    def push(self, command: Command) -> bool:
        """Do the command and record it; False (and nothing recorded) when it changed nothing."""
        if getattr(command, "changes_nothing", lambda document: False)(self._document):
            return False
        command.do(self._document)  # raises, with the document untouched, when refused
        del self._commands[self._index :]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        self._commands.append(command)
        self._index += 1
        if len(self._commands) > self.limit:
            del self._commands[0]
            self._index -= 1
            if self._clean is not None:
                self._clean = self._clean - 1 if self._clean > 0 else None
        self._notify("do", command)
        return True

    def undo(self) -> None:
        if not self.can_undo:
            raise EditError("there is nothing to undo")
        command = self._commands[self._index - 1]
        command.undo(self._document)
        self._index -= 1
        self._notify("undo", command)

    def redo(self) -> None:
        if not self.can_redo:
            raise EditError("there is nothing to redo")
        command = self._commands[self._index]
        command.do(self._document)
        self._index += 1
        self._notify("redo", command)

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._commands)

    @property
    def undo_text(self) -> str:
        """ "Undo rename 'fc1' to 'head'", or plain "Undo" when there is nothing to undo."""
        return f"Undo {self._commands[self._index - 1].text}" if self.can_undo else "Undo"

    @property
    def redo_text(self) -> str:
        return f"Redo {self._commands[self._index].text}" if self.can_redo else "Redo"

    def __len__(self) -> int:
        return len(self._commands)

    @property
    def index(self) -> int:
        """How many of the recorded commands are done."""
        return self._index

    def clear(self) -> None:
        """Forget the history; the document as it is now stays (and stays dirty or clean)."""
        clean = self._clean == self._index
        self._commands.clear()
        self._index = 0
        self._clean = 0 if clean else None
        self._notify("clear", None)

    def mark_clean(self) -> None:
        self._clean = self._index

    @property
    def is_clean(self) -> bool:
        return self._clean == self._index

    def _notify(self, action: str, command: Command | None) -> None:
        if self._on_change is not None:
            self._on_change(action, command)


class Document:
    """A project (anything with a ``.network`` Node) plus its edit history and listeners."""

    def __init__(self, project: Any, undo_limit: int = DEFAULT_UNDO_LIMIT) -> None:
        self.project = project
        self.undo_stack = UndoStack(self, undo_limit, on_change=self._changed)
        self._listeners: list[Callable[[Changed], None]] = []

    @property
    def network(self) -> Node:
        return self.project.network

    # --- addressing ---------------------------------------------------------------

    def node_at(self, address: Address) -> Node:
        node = self.network
        for depth, index in enumerate(address):
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(node.children):
                raise EditError(
                    f"no node at {tuple(address)}: {node.type} has {len(node.children)} children",
                    json_path(address[:depth]),
                )
            node = node.children[index]
        return node

    def parent_of(self, address: Address) -> Node:
        if not address:
            raise EditError("the root network has no parent", json_path(()))
        self.node_at(address)
        return self.node_at(address[:-1])

    def addresses(self) -> list[Address]:
        """Every node's address, root first, in named_modules() order."""
        found: list[Address] = []

        def visit(node: Node, address: Address) -> None:
            found.append(address)
            for index, child in enumerate(node.children):
                visit(child, (*address, index))

        visit(self.network, ())
        return found

    # --- editing --------------------------------------------------------------------

    def execute(self, command: Command) -> bool:
        """Do an edit and record it (the same as ``undo_stack.push``)."""
        return self.undo_stack.push(command)

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    # --- saved state ------------------------------------------------------------------

    @property
    def is_dirty(self) -> bool:
        return not self.undo_stack.is_clean

    def mark_saved(self) -> None:
        self.undo_stack.mark_clean()
        self._emit(Changed("save", "", ()))

    # --- listeners ------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Changed], None]) -> Callable[[], None]:
        """Call ``callback(Changed)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self.unsubscribe(callback)

    def unsubscribe(self, callback: Callable[[Changed], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _changed(self, action: str, command: Command | None) -> None:
        if command is None:
            self._emit(Changed(action, "", ()))
        else:
            self._emit(
                Changed(action, command.kind, command.changed_address(), command.text, getattr(command, "section", ""))
            )

    def _emit(self, event: Changed) -> None:
        for callback in list(self._listeners):
            callback(event)

"""The network as a tree: select, rename, reorder by drag and drop, and edit from a menu.

Every action is one core command through the session, so the main window's Undo takes each
back. The view keeps the selection by module path across the model resets edits cause.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QItemSelectionModel, QMimeData, QModelIndex, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QInputDialog, QMenu, QTreeView, QWidget

from app.errors import NNStudioError
from app.network.addresses import node_at
from app.network.catalog import catalog, layer_type
from app.network.spec import Node
from app.project.document import Address
from app.project.network_commands import AddNode, DuplicateNode, RemoveNode, WrapInContainer, free_name
from widgets.network.new_layer import add_layer
from widgets.network.tree_model import COLUMNS, NODE_MIME, NetworkModel

COMMON_LAYERS = (
    "Linear",
    "Conv2d",
    "ReLU",
    "GELU",
    "BatchNorm2d",
    "LayerNorm",
    "Dropout",
    "MaxPool2d",
    "Flatten",
    "Sequential",
    "Residual",
)
WRAPPERS = ("Sequential", "Chain", "Parallel")


class NetworkView(QTreeView):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.network_model = NetworkModel(session, self)
        self.setModel(self.network_model)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.setDragDropMode(QAbstractItemView.DragDrop)
        self.setDefaultDropAction(Qt.MoveAction)
        self.setDropIndicatorShown(True)
        self.setAlternatingRowColors(True)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        header = self.header()
        header.setStretchLastSection(False)
        for column in range(len(COLUMNS)):  # names never squeezed out: the dock scrolls sideways instead
            header.setSectionResizeMode(column, QHeaderView.ResizeToContents)
        self._collapsed: set[str] = set()
        self._syncing = False
        self.collapsed.connect(lambda index: self._collapsed.add(self.network_model.path_of_index(index)))
        self.expanded.connect(lambda index: self._collapsed.discard(self.network_model.path_of_index(index)))
        self.network_model.modelReset.connect(self._after_reset)
        self.selectionModel().currentChanged.connect(self._current_changed)
        session.selectionChanged.connect(self.select_path)
        session.changed.connect(self._after_change)
        self.actions_by_name: dict[str, QAction] = {}
        self._make_actions()
        self._after_reset()

    # --- selection ----------------------------------------------------------------------------
    def selected_address(self) -> Address | None:
        return self.network_model.address_of(self.session.selected)

    def select_path(self, module_path: str) -> None:
        index = self.network_model.index_for_path(module_path)
        if not index.isValid() or index == self.currentIndex():
            return
        self._syncing = True
        try:
            self.selectionModel().setCurrentIndex(index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
            self.scrollTo(index)
        finally:
            self._syncing = False

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        path = self.network_model.path_of_index(current)
        if not self._syncing and path is not None:
            self.session.select(path)

    def _after_reset(self) -> None:
        model = self.network_model

        def expand(index: QModelIndex) -> None:
            if model.path_of_index(index) not in self._collapsed:
                self.expand(index)
            for row in range(model.rowCount(index)):
                expand(model.index(row, 0, index))

        expand(model.index(0, 0))
        if model.index_for_path(self.session.selected).isValid():
            self.select_path(self.session.selected)

    def _after_change(self, event) -> None:
        """A rename or a move can leave the selected path behind: follow the row (or the root)."""
        if self.network_model.address_of(self.session.selected) is None:
            path = self.network_model.path_of_index(self.currentIndex())
            self.session.select(path if path is not None else "")
            self.select_path(self.session.selected)

    # --- actions ------------------------------------------------------------------------------
    def _action(self, name: str, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _make_actions(self) -> None:
        self._action("rename", "Rename", self.rename_selected, Qt.Key_F2)
        self._action("duplicate", "Duplicate", self.duplicate_selected, "Ctrl+D")
        self._action("delete", "Delete", self.delete_selected, QKeySequence.Delete)
        self._action("copy", "Copy", self.copy_selected, QKeySequence.Copy)
        self._action("paste", "Paste", self.paste, QKeySequence.Paste)
        self._action("add_other", "Add child...", self.choose_child_type)
        for container in WRAPPERS:
            self._action(f"wrap_{container.lower()}", f"Wrap in {container}", lambda c=container: self.wrap_selected(c))
        self.actions_by_name["wrap_sequential"].setShortcut(QKeySequence("Ctrl+G"))

    def keyPressEvent(self, event) -> None:
        """Shortcuts reach the actions even when no shortcut map sees the key (tests, docks)."""
        if self.state() != QAbstractItemView.EditingState:
            pressed = QKeySequence(event.keyCombination())
            for action in self.actions_by_name.values():
                if action.isEnabled() and not action.shortcut().isEmpty() and action.shortcut() == pressed:
                    action.trigger()
                    event.accept()
                    return
        super().keyPressEvent(event)

    def _show_menu(self, position) -> None:
        index = self.indexAt(position)
        if index.isValid():
            self.select_path(self.network_model.path_of_index(index))
            self.session.select(self.network_model.path_of_index(index))
        self.context_menu().exec(self.viewport().mapToGlobal(position))

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        add = menu.addMenu("Add child")
        for type_name in COMMON_LAYERS:
            add.addAction(type_name, lambda t=type_name: self.add_child(t))
        add.addSeparator()
        add.addAction(self.actions_by_name["add_other"])
        wrap = menu.addMenu("Wrap in")
        for container in WRAPPERS:
            wrap.addAction(self.actions_by_name[f"wrap_{container.lower()}"])
        mode = menu.addMenu("Mode during training")
        pinned = self.session.project.mode.get("overrides", {}).get(self.session.selected)
        for label, value in (
            ("Inherit (model.train() / eval())", None),
            ("Keep in train mode", True),
            ("Keep in eval mode (e.g. a BatchNorm)", False),
        ):
            action = mode.addAction(label, lambda v=value: self.set_mode_override(v))
            action.setCheckable(True)
            action.setChecked(pinned is value)
        menu.addSeparator()
        for name in ("rename", "duplicate", "copy", "paste", "delete"):
            menu.addAction(self.actions_by_name[name])
        return menu

    def set_mode_override(self, value: bool | None) -> bool:
        """Pin the selected module to train or eval whatever the model's mode, or let it inherit."""
        try:
            return self.session.set_mode_override(self.session.selected, value)
        except NNStudioError as error:
            self.session.message.emit(str(error))
            return False

    def _select_address(self, address: Address) -> None:
        path = self.network_model.path_of(address)
        if path is not None:
            self.session.select(path)

    def add_child(self, type_name: str) -> bool:
        """Add a layer inside the selected container (or after the selected layer)."""
        return add_layer(self.session, type_name)

    def choose_child_type(self) -> bool:
        names = list(catalog())
        type_name, ok = QInputDialog.getItem(self, "Add child", "Layer type:", names, 0, False)
        return bool(ok and type_name) and self.add_child(type_name)

    def rename_selected(self) -> None:
        index = self.network_model.index_for_path(self.session.selected)
        if index.isValid() and self.network_model.flags(index) & Qt.ItemIsEditable:
            self.setCurrentIndex(index)
            self.edit(index)
        else:
            self.session.message.emit("only a child of a Sequential, Parallel or Chain can be renamed")

    def duplicate_selected(self) -> bool:
        address = self.selected_address()
        if not address:
            self.session.message.emit("choose a module to duplicate")
            return False
        if self.network_model.execute(DuplicateNode(address)):
            self._select_address((*address[:-1], address[-1] + 1))
            return True
        return False

    def delete_selected(self) -> bool:
        address = self.selected_address()
        if not address:
            self.session.message.emit("choose a module to delete (the root network stays)")
            return False
        parent = node_at(self.session.network, address[:-1])
        if not self.network_model.execute(RemoveNode(address)):
            return False
        if parent.children:
            self._select_address((*address[:-1], min(address[-1], len(parent.children) - 1)))
        else:
            self._select_address(address[:-1])
        return True

    def wrap_selected(self, container: str = "Sequential") -> bool:
        address = self.selected_address()
        if not address:
            self.session.message.emit("choose a module to wrap")
            return False
        if self.network_model.execute(WrapInContainer([address], container)):
            self._select_address(address)
            return True
        return False

    def copy_selected(self) -> bool:
        address = self.selected_address()
        if address is None:
            return False
        text = json.dumps(node_at(self.session.network, address).to_json(), indent=2)
        data = QMimeData()
        data.setData(NODE_MIME, QByteArray(text.encode()))
        data.setText(text)
        QGuiApplication.clipboard().setMimeData(data)
        return True

    def paste(self) -> bool:
        """Paste the node on the clipboard right after the selection (at the root's end for the root)."""
        data = QGuiApplication.clipboard().mimeData()
        raw = bytes(data.data(NODE_MIME)).decode() if data is not None and data.hasFormat(NODE_MIME) else None
        if raw is None and data is not None and data.hasText():
            raw = data.text()
        try:
            node = Node.from_json(json.loads(raw or ""), "clipboard")
        except (NNStudioError, ValueError) as error:
            self.session.message.emit(f"the clipboard holds no module: {error}")
            return False
        address = self.selected_address()
        parent, index = (address[:-1], address[-1] + 1) if address else ((), None)
        container = node_at(self.session.network, parent)
        if node.name is not None and layer_type(container.type).is_sequence:
            node.name = free_name(node.name, {c.name for c in container.children if c.name})
        if not self.network_model.execute(AddNode(parent, index, node)):
            return False
        self._select_address((*parent, len(container.children) - 1 if index is None else index))
        return True

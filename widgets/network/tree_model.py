"""An item model over the session's network spec: one row per module, the root row first.

The model holds no nodes of its own. An index carries an interned address (a tuple of child
indices, see :mod:`app.project.document`) and every call reads the live spec through it, so after a
structural edit a model reset is all it takes to be correct again. Renames and argument edits
keep the structure: they only repaint.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QAbstractItemModel, QByteArray, QMimeData, QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from app.errors import NNStudioError
from app.network.addresses import Address, address_of_path, node_at, path_of_address
from app.network.catalog import layer_type
from app.network.spec import Node
from app.project.network_commands import AddNode, MoveNode, RenameNode
from app.project.section_commands import SetSection
from widgets.network.new_layer import LAYER_MIME, default_node, family_icon, incoming_shape

NODE_MIME = "application/x-nnstudio-node"  # a node's JSON, from Copy
ADDRESS_MIME = "application/x-nnstudio-address"  # a node's address, dragged inside the tree

COLUMNS = ("Name", "Type", "Output shape", "Params", "Probe")  # short headers: the dock is narrow
HEADER_TIPS = (
    "The module's name in its parent (positional children as (0), (1), ...)",
    "The layer or container type",
    "The output shape for the project's inputs, computed on the meta device",
    "Parameters, the module's submodules included",
    "Record this module's activations during a run (the Activations tab)",
)
NAME, TYPE, SHAPE, PARAMS, PROBE = range(5)
ROOT_NAME = "network"
FAILED = QColor("#c62828")
GREYED = QColor("#9e9e9e")


def format_shape(shape) -> str:
    if shape is None:
        return ""
    if shape and isinstance(shape[0], (list, tuple)):  # several outputs (an LSTM's output and state)
        return ", ".join(format_shape(s) for s in shape)
    return "[" + ", ".join(str(n) for n in shape) + "]"


def positional_label(index: int) -> str:
    return f"({index})"


class NetworkModel(QAbstractItemModel):
    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._ids: dict[Address, int] = {}
        self._addresses: list[Address] = []
        session.changed.connect(self._on_changed)
        session.analysed.connect(self._on_analysed)
        session.projectReplaced.connect(self._reset)

    # --- addressing ---------------------------------------------------------------------------
    @property
    def network(self) -> Node:
        return self.session.network

    def address(self, index: QModelIndex) -> Address | None:
        if not index.isValid():
            return None
        return self._addresses[index.internalId()]

    def node(self, index: QModelIndex) -> Node | None:
        address = self.address(index)
        return None if address is None else node_at(self.network, address)

    def address_of(self, module_path: str) -> Address | None:
        return address_of_path(self.network, module_path)

    def path_of(self, address: Address) -> str | None:
        return path_of_address(self.network, address)

    def path_of_index(self, index: QModelIndex) -> str | None:
        address = self.address(index)
        return None if address is None else self.path_of(address)

    def index_for_address(self, address: Address | None, column: int = 0) -> QModelIndex:
        if address is None or node_at(self.network, address) is None:
            return QModelIndex()
        row = address[-1] if address else 0
        return self.createIndex(row, column, self._id(address))

    def index_for_path(self, module_path: str, column: int = 0) -> QModelIndex:
        return self.index_for_address(self.address_of(module_path), column)

    def _id(self, address: Address) -> int:
        if address not in self._ids:
            self._ids[address] = len(self._addresses)
            self._addresses.append(address)
        return self._ids[address]

    # --- structure ----------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if not parent.isValid():
            return (
                self.createIndex(row, column, self._id(()))
                if row == 0 and 0 <= column < len(COLUMNS)
                else QModelIndex()
            )
        address = self.address(parent)
        node = node_at(self.network, address)
        if node is None or not 0 <= row < len(node.children) or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column, self._id((*address, row)))

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        address = self.address(index)
        if not address:
            return QModelIndex()
        return self.index_for_address(address[:-1])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return 1
        if parent.column() > 0:
            return 0
        node = self.node(parent)
        return len(node.children) if node is not None else 0

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return HEADER_TIPS[section]
        return None

    # --- what a row shows ---------------------------------------------------------------------
    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        address = self.address(index)
        node = None if address is None else node_at(self.network, address)
        if node is None:
            return None
        column = index.column()
        if column == PROBE:
            if role == Qt.CheckStateRole and address:
                return Qt.Checked if self.path_of(address) in self.probed() else Qt.Unchecked
            if role == Qt.ToolTipRole and address:
                return "watch this module's activations during training (can change during a run)"
            return None
        if role in (Qt.DisplayRole, Qt.EditRole):
            return self._text(address, node, column, role)
        if role in (Qt.ForegroundRole, Qt.ToolTipRole, Qt.DecorationRole):
            status, message = self._status(address)
            if role == Qt.ToolTipRole:
                return message or (layer_type(node.type).doc if layer_type(node.type) else None)
            if role == Qt.ForegroundRole:
                if status == "failed":
                    return QBrush(FAILED)
                if status in ("not called", "not computed"):
                    return QBrush(GREYED)
                return None
            if column == NAME:
                if status == "failed":
                    return QApplication.style().standardIcon(QStyle.SP_MessageBoxWarning)

                entry = layer_type(node.type)
                return family_icon(entry.family) if entry is not None else QIcon()
        if role == Qt.TextAlignmentRole and column == PARAMS:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def _text(self, address: Address, node: Node, column: int, role: int):
        if column == NAME:
            if not address:
                return ROOT_NAME
            if node.name is not None:
                return node.name
            return "" if role == Qt.EditRole else positional_label(address[-1])
        if column == TYPE:
            return node.type
        analysis = self.session.analysis
        if analysis is None:
            return ""
        if not address:
            return format_shape(analysis.output_shape) if column == SHAPE else f"{analysis.total_params:,}"
        row = analysis.row(self.path_of(address))
        if row is None:
            return ""
        return format_shape(row.output_shape) if column == SHAPE else f"{row.params:,}"

    def _status(self, address: Address) -> tuple[str, str]:
        """("failed", message) for a module at fault, ("not called", why) and so on, or ("ok", "")."""
        path = self.path_of(address)
        for where, message in self.session.problems():
            if where == path and (path or not address):
                return "failed", message
        build_error = self.session.build_error
        if build_error is not None and not address and not build_error.where.startswith("network."):
            return "failed", str(build_error)
        analysis = self.session.analysis
        if build_error is not None:
            if build_error.where == _json_path(address):
                return "failed", str(build_error)
            return "not computed", "the network cannot be built: " + str(build_error)
        row = analysis.row(path) if analysis is not None and address else None
        if row is None:
            return "ok", ""
        return row.status, row.message

    # --- editing names ------------------------------------------------------------------------
    def flags(self, index: QModelIndex) -> Qt.ItemFlags:
        if not index.isValid():
            return Qt.ItemIsDropEnabled
        flags = Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDropEnabled
        address = self.address(index)
        if address and index.column() == PROBE:
            flags |= Qt.ItemIsUserCheckable
        if address:
            flags |= Qt.ItemIsDragEnabled
            parent = node_at(self.network, address[:-1])
            entry = layer_type(parent.type) if parent is not None else None
            if index.column() == NAME and entry is not None and entry.is_sequence and parent.type != "ModuleList":
                flags |= Qt.ItemIsEditable
        return flags

    def setData(self, index: QModelIndex, value, role: int = Qt.EditRole) -> bool:
        address = self.address(index)
        if role == Qt.CheckStateRole and index.column() == PROBE and address:
            return self.set_probed(self.path_of(address), Qt.CheckState(value) == Qt.Checked)
        if role != Qt.EditRole or index.column() != NAME or not address:
            return False
        text = str(value).strip()
        name = None if text in ("", positional_label(address[-1])) else text
        was_selected = self.session.selected == self.path_of(address)
        if not self.execute(RenameNode(address, name)):
            return False
        if was_selected:
            self.session.select(self.path_of(address))
        return True

    # --- probes -------------------------------------------------------------------------------
    def probed(self) -> list[str]:
        return list((self.session.project.probes or {}).get("modules", []))

    def set_probed(self, module_path: str, on: bool) -> bool:
        """Probe a module or stop probing it: one undoable edit of the probes section."""
        modules = [path for path in self.probed() if path != module_path] + ([module_path] if on else [])
        probes = {**(self.session.project.probes or {}), "modules": modules}
        return self.execute(SetSection("probes", probes, f"{'probe' if on else 'stop probing'} {module_path}"))

    def execute(self, command) -> bool:
        """Run a command through the session; a refusal goes to the status bar, never raises."""
        try:
            self.session.execute(command)
        except NNStudioError as error:
            self.session.message.emit(str(error))
            return False
        return True

    # --- drag and drop ------------------------------------------------------------------------
    def supportedDropActions(self) -> Qt.DropActions:
        return Qt.MoveAction | Qt.CopyAction

    def supportedDragActions(self) -> Qt.DropActions:
        return Qt.MoveAction | Qt.CopyAction

    def mimeTypes(self) -> list[str]:
        return [ADDRESS_MIME, LAYER_MIME, NODE_MIME]

    def mimeData(self, indexes) -> QMimeData:
        data = QMimeData()
        addresses = [self.address(i) for i in indexes if i.isValid() and self.address(i)]
        if addresses:
            address = addresses[0]
            data.setData(ADDRESS_MIME, QByteArray(json.dumps(list(address)).encode()))
            node = node_at(self.network, address)
            data.setData(NODE_MIME, QByteArray(json.dumps(node.to_json()).encode()))
        return data

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        return any(data.hasFormat(kind) for kind in self.mimeTypes())

    def drop_target(self, row: int, parent: QModelIndex) -> tuple[Address, int | None]:
        """(container address, index before the drop) for a drop at ``row`` under ``parent``;
        a drop on a layer goes right after it."""
        address = self.address(parent) if parent.isValid() else ()
        if not parent.isValid():
            return (), None
        node = node_at(self.network, address)
        entry = layer_type(node.type) if node is not None else None
        if entry is not None and entry.takes_children:
            return address, (row if row >= 0 else None)
        if not address:
            return (), None
        return address[:-1], address[-1] + 1

    def dropMimeData(self, data, action, row: int, column: int, parent: QModelIndex) -> bool:
        if action == Qt.IgnoreAction:
            return True
        target, index = self.drop_target(row, parent)
        if data.hasFormat(ADDRESS_MIME) and action == Qt.MoveAction:
            source = tuple(json.loads(bytes(data.data(ADDRESS_MIME)).decode()))
            if index is not None and source[:-1] == target and index > source[-1]:
                index -= 1  # MoveNode counts positions after the node has left its place
            moved = self.execute(MoveNode(source, target, index))
            if moved:
                self._select_added(target, index)
            return moved
        if data.hasFormat(LAYER_MIME):
            type_name = bytes(data.data(LAYER_MIME)).decode()
            node = default_node(type_name, incoming_shape(self.session, target, index))
        elif data.hasFormat(NODE_MIME):
            try:
                node = Node.from_json(json.loads(bytes(data.data(NODE_MIME)).decode()))
            except (NNStudioError, ValueError) as error:
                self.session.message.emit(f"cannot drop that here: {error}")
                return False
        else:
            return False
        added = self.execute(AddNode(target, index, node))
        if added:
            self._select_added(target, index)
        return added

    def _select_added(self, parent: Address, index: int | None) -> None:
        container = node_at(self.network, parent)
        if container is None or not container.children:
            return
        at = index if index is not None and index < len(container.children) else len(container.children) - 1
        self.session.select(self.path_of((*parent, at)))

    # --- keeping up with the session ----------------------------------------------------------
    def _on_changed(self, event) -> None:
        if event.action == "save":
            return
        if event.kind == "section":  # a project section: the rows stay, some cells change
            self._on_analysed()
            return
        if event.kind in ("rename", "set_argument"):
            index = self.index_for_address(event.address)
            if index.isValid():
                self.dataChanged.emit(index, index.siblingAtColumn(len(COLUMNS) - 1))
                return
        self._reset()

    def _reset(self) -> None:
        self.beginResetModel()
        self._ids.clear()
        self._addresses.clear()
        self.endResetModel()

    def _on_analysed(self) -> None:
        """Shapes, counts and problems are fresh: repaint every row (the structure is the same)."""

        def visit(parent: QModelIndex) -> None:
            rows = self.rowCount(parent)
            if rows:
                self.dataChanged.emit(self.index(0, 0, parent), self.index(rows - 1, len(COLUMNS) - 1, parent))
                for row in range(rows):
                    visit(self.index(row, 0, parent))

        visit(QModelIndex())


def _json_path(address: Address) -> str:
    return "network" + "".join(f".children[{i}]" for i in address)

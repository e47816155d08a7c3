"""The real model's modules, parameters and buffers as a lazy tree.

A node's children are listed only when the view asks (an expanded parent, a row scrolled into
view), a few hundred at a time, so a model with ten thousand tensors opens at once. Statistics
(mean, std) are computed for the rows a view paints and cached for the model they came from.
Unchecking ``requires_grad`` freezes the parameter by its exact name with an undoable
``SetSection("freeze", ...)``; the session then rebuilds the model and the tree follows it.
"""

from __future__ import annotations

import math

import torch
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from torch import nn

from app.errors import NNStudioError
from app.project.section_commands import SetSection
from app.setup.initializers import parse_init
from app.setup.optim import assign_groups, hyperparameters
from app.setup.selectors import named_parameters_with_owner, parse_selector
from app.training.prepare import optimizer_config
from widgets.inspect.dimensions import dimension_tooltip

COLUMNS = ("Name", "Kind", "Shape", "Dtype", "Device", "Numel", "requires_grad", "Group", "lr", "Init", "Mean", "Std")
NAME, KIND, SHAPE, DTYPE, DEVICE, NUMEL, GRAD, GROUP, LR, INIT, MEAN, STD = range(len(COLUMNS))
BATCH = 256  # rows listed per fetch
MUTED = QColor(128, 128, 128)


class Node:
    """A module, parameter or buffer: ``path`` is its full dotted name in the model."""

    __slots__ = ("parent", "row", "kind", "name", "path", "obj", "owner", "keys", "children")

    def __init__(self, parent: Node | None, row: int, kind: str, name: str, path: str, obj, owner=None):
        self.parent, self.row, self.kind, self.name, self.path = parent, row, kind, name, path
        self.obj = obj  # the nn.Module, or the tensor
        self.owner = owner  # for a tensor: the module that holds it directly
        self.keys: list[tuple[str, str]] | None = None  # (kind, local name), listed on first need
        self.children: list[Node] = []

    def list_keys(self) -> list[tuple[str, str]]:
        if self.keys is None:
            module = self.obj
            self.keys = (
                (
                    [("parameter", n) for n, p in module._parameters.items() if p is not None]
                    + [("buffer", n) for n, b in module._buffers.items() if b is not None]
                    + [("module", n) for n, m in module._modules.items() if m is not None]
                )
                if self.kind == "module"
                else []
            )
        return self.keys

    def has_children(self) -> bool:
        if self.kind != "module":
            return False
        if self.keys is not None:
            return bool(self.keys)
        m = self.obj
        return bool(m._parameters or m._buffers or m._modules)

    def make_child(self, row: int, kind: str, name: str) -> Node:
        module = self.obj
        path = f"{self.path}.{name}" if self.path else name
        holder = {"parameter": module._parameters, "buffer": module._buffers, "module": module._modules}[kind]
        return Node(self, row, kind, name, path, holder[name], module)


def init_schemes(model: nn.Module, project) -> dict[str, str]:
    """Each parameter's init scheme, matched the way apply_init matches (first rule wins)."""
    if project.weights:
        return {name: "saved weights" for name, _, _ in named_parameters_with_owner(model)}
    try:
        rules = parse_init(project.init).rules
    except NNStudioError:
        return {}
    return {
        name: next((r.scheme for r in rules if r.selector.matches(name, owner)), "default")
        for name, _, owner in named_parameters_with_owner(model)
    }


def optimizer_groups(model: nn.Module, project) -> dict[str, tuple[str, str]]:
    """Parameter name -> (group label, lr) as the optimizer would get them; frozen ones say so."""
    found = {name: ("frozen", "") for name, p, _ in named_parameters_with_owner(model) if not p.requires_grad}
    try:
        config = optimizer_config(project)
    except NNStudioError as error:
        return {
            **found,
            **{name: ("?", str(error)) for name, p, _ in named_parameters_with_owner(model) if p.requires_grad},
        }
    default_lr = config.defaults.get("lr", hyperparameters(config.type).get("lr"))
    labels = [g.selector.text for g in config.groups] + ["default"]
    rates = [g.hyper.get("lr", default_lr) for g in config.groups] + [default_lr]
    for index, names in enumerate(assign_groups(model, config).names):
        for name in names:
            found[name] = (labels[index], f"{rates[index]:g}" if isinstance(rates[index], (int, float)) else "")
    return found


def trainable_count(model: nn.Module | None) -> tuple[int, int]:
    """(trainable, total) parameter elements, shared parameters once."""
    if model is None:
        return 0, 0
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def _signature(model: nn.Module) -> tuple:
    tensors = (*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False))
    return tuple((name, tuple(t.shape)) for name, t in tensors)


class ParametersModel(QAbstractItemModel):
    modelSwapped = Signal()  # the real model was rebuilt (a freeze, an init edit, a network edit)

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.model: nn.Module | None = None
        self.root = Node(None, 0, "module", "", "", nn.Module())
        self._signature: tuple | None = None
        self._stats: dict[str, tuple[float, float]] = {}
        self._groups: dict[str, tuple[str, str]] | None = None
        self._inits: dict[str, str] | None = None
        self.sync()

    # Following the session -------------------------------------------------------------------
    def sync(self) -> None:
        """Show the session's current real model (rebuilt by the session when it changed)."""
        model = self.session.model()
        if model is self.model:
            self._groups = self._inits = None  # the optimizer or init sections may have changed
            self._all_changed()
            return
        signature = _signature(model) if model is not None else None
        same_tree = self.model is not None and signature == self._signature
        self.model, self._signature = model, signature
        self._stats, self._groups, self._inits = {}, None, None
        if same_tree:
            self._rebind(self.root, model)
            self._all_changed()
        else:
            self.beginResetModel()
            self.root = Node(None, 0, "module", "", "", model if model is not None else nn.Module())
            self.endResetModel()
        self.modelSwapped.emit()

    def _rebind(self, node: Node, module: nn.Module) -> None:
        """Same names and shapes, new tensors: point the listed nodes at them, keep expansion."""
        node.obj = module
        for child in node.children:
            holder = {"parameter": module._parameters, "buffer": module._buffers, "module": module._modules}
            child.obj, child.owner = holder[child.kind][child.name], module
            if child.kind == "module":
                self._rebind(child, child.obj)

    def _all_changed(self) -> None:
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.children:
                first = self.createIndex(0, 0, node.children[0])
                last = self.createIndex(len(node.children) - 1, len(COLUMNS) - 1, node.children[-1])
                self.dataChanged.emit(first, last)
                stack.extend(c for c in node.children if c.children)

    # Lookups ---------------------------------------------------------------------------------
    def node(self, index: QModelIndex) -> Node:
        return index.internalPointer() if index.isValid() else self.root

    def index_of(self, path: str) -> QModelIndex:
        """The index of a module, parameter or buffer by full name, listing parents as needed."""
        node, parent = self.root, QModelIndex()
        for part in path.split(".") if path else []:
            keys = node.list_keys()
            row = next((i for i, (_, name) in enumerate(keys) if name == part), None)
            if row is None:
                return QModelIndex()
            while len(node.children) <= row:
                self.fetchMore(parent)
            node = node.children[row]
            parent = self.createIndex(row, 0, node)
        return parent

    def groups(self) -> dict[str, tuple[str, str]]:
        if self._groups is None:
            self._groups = optimizer_groups(self.model, self.session.project) if self.model is not None else {}
        return self._groups

    def inits(self) -> dict[str, str]:
        if self._inits is None:
            self._inits = init_schemes(self.model, self.session.project) if self.model is not None else {}
        return self._inits

    def stats(self, node: Node) -> tuple[float, float] | None:
        tensor = node.obj
        if node.kind == "module" or isinstance(tensor, nn.parameter.UninitializedTensorMixin) or tensor.numel() == 0:
            return None
        if node.path not in self._stats:
            with torch.no_grad():
                values = tensor.detach().float()
                std = float(values.std()) if values.numel() > 1 else 0.0
                self._stats[node.path] = (float(values.mean()), std)
        return self._stats[node.path]

    # Qt's item model -------------------------------------------------------------------------
    def index(self, row, column, parent=QModelIndex()):
        node = self.node(parent)
        if 0 <= row < len(node.children) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index=QModelIndex()):
        if not index.isValid():
            return QModelIndex()
        parent = index.internalPointer().parent
        if parent is None or parent is self.root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent=QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent=QModelIndex()) -> bool:
        return self.node(parent).has_children()

    def canFetchMore(self, parent) -> bool:
        node = self.node(parent)
        return node.kind == "module" and len(node.children) < len(node.list_keys())

    def fetchMore(self, parent) -> None:
        node = self.node(parent)
        keys = node.list_keys()
        start = len(node.children)
        end = min(len(keys), start + BATCH)
        if end <= start:
            return
        self.beginInsertRows(parent, start, end - 1)
        node.children.extend(node.make_child(start + i, *key) for i, key in enumerate(keys[start:end]))
        self.endInsertRows()

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.NoItemFlags
        flags = Qt.ItemIsEnabled | Qt.ItemIsSelectable
        if index.column() == GRAD and self.node(index).kind == "parameter":
            flags |= Qt.ItemIsUserCheckable
        return flags

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        node, column = index.internalPointer(), index.column()
        if role == Qt.DisplayRole:
            return self._text(node, column)
        if role == Qt.CheckStateRole and column == GRAD and node.kind == "parameter":
            return Qt.Checked if node.obj.requires_grad else Qt.Unchecked
        if role == Qt.ToolTipRole:
            if column == SHAPE and node.kind != "module":
                return dimension_tooltip(node.owner, node.name, tuple(node.obj.shape))
            if column == NAME:
                return node.path
            if column == GRAD and node.kind == "parameter":
                return "Uncheck to freeze (adds the name to the project's freeze list; Ctrl+Z undoes)"
        if role == Qt.ForegroundRole and node.kind == "module" and column == KIND:
            return MUTED
        if role == Qt.TextAlignmentRole and column in (NUMEL, MEAN, STD, LR):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def _text(self, node: Node, column: int) -> str:
        if column == NAME:
            return node.name
        if node.kind == "module":
            return type(node.obj).__name__ if column == KIND else ""
        tensor = node.obj
        if column == KIND:
            return node.kind
        if column == SHAPE:
            return "[" + ", ".join(str(s) for s in tensor.shape) + "]"
        if column == DTYPE:
            return str(tensor.dtype).removeprefix("torch.")
        if column == DEVICE:
            return str(tensor.device)
        if column == NUMEL:
            return f"{tensor.numel():,}"
        if column == GRAD:
            return "" if node.kind == "parameter" else "buffer"
        if node.kind != "parameter" and column in (GROUP, LR, INIT):
            return ""
        if column == GROUP:
            return self.groups().get(node.path, ("", ""))[0]
        if column == LR:
            return self.groups().get(node.path, ("", ""))[1]
        if column == INIT:
            return self.inits().get(node.path, "")
        stats = self.stats(node)
        if stats is None:
            return "-"
        value = stats[0] if column == MEAN else stats[1]
        return f"{value:.4g}" if math.isfinite(value) else str(value)

    def setData(self, index, value, role=Qt.EditRole) -> bool:
        if not index.isValid() or role != Qt.CheckStateRole or index.column() != GRAD:
            return False
        node = index.internalPointer()
        if node.kind != "parameter":
            return False
        checked = value in (Qt.Checked, 2) or getattr(value, "value", None) == 2
        return self.set_trainable(node.path, checked)

    def set_trainable(self, name: str, trainable: bool) -> bool:
        """Freeze or unfreeze one parameter by its exact name, as one undoable edit."""
        freeze = list(self.session.project.freeze)
        if trainable:
            if name not in freeze:
                blockers = [s for s in freeze if _selects(s, name, self.model)]
                if blockers:
                    self.session.message.emit(
                        f"{name} is frozen by the freeze selector {blockers[0]!r}: edit the freeze list to unfreeze it"
                    )
                return False
            freeze.remove(name)
        elif name in freeze:
            return False
        else:
            freeze.append(name)
        try:
            self.session.execute(SetSection("freeze", freeze))
        except NNStudioError as error:
            self.session.message.emit(str(error))
            return False
        self.sync()
        return True


def _selects(selector, name: str, model: nn.Module | None) -> bool:
    if model is None:
        return False
    owner = next((o for n, _, o in named_parameters_with_owner(model) if n == name), "")
    try:
        return parse_selector(selector, "freeze").matches(name, owner)
    except NNStudioError:
        return False

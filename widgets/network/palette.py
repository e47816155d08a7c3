"""The layer palette: every catalog type by family, searchable, to drag or double-click in.

A chosen layer is added with its required arguments filled from what the analysis knows at
that point of the network (a Linear after a [8, 400] output gets in_features=400), so a fresh
layer usually fits without a second edit.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.network.catalog import FAMILIES, catalog
from widgets.network.new_layer import LAYER_MIME, add_layer, family_icon

TYPE_ROLE = Qt.UserRole + 1


class _PaletteTree(QTreeWidget):
    entered = Signal(object)  # the current item, on Enter / Return

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            self.entered.emit(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:
        data = QMimeData()
        names = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        if names:
            data.setData(LAYER_MIME, QByteArray(names[0].encode()))
            data.setText(names[0])
        return data

    def supportedDropActions(self) -> Qt.DropActions:
        return Qt.CopyAction


class LayerPalette(QWidget):
    layerChosen = Signal(str)

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers")
        self.search.setClearButtonEnabled(True)
        self.tree = _PaletteTree(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragOnly)
        self.tree.setDefaultDropAction(Qt.CopyAction)
        self.tree.setExpandsOnDoubleClick(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._families: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._choose_first)
        self.tree.itemDoubleClicked.connect(self._activated)
        self.tree.entered.connect(lambda item: self._activated(item, 0))
        session.projectReplaced.connect(self._follow_project)
        self._follow_project()

    def _follow_project(self) -> None:
        """A Python network is edited in its file: the palette rests, and says why."""
        python = self.session.python_network
        self.tree.setEnabled(python is None)
        self.search.setEnabled(python is None)
        self.setToolTip("" if python is None else f"The network is Python code ({python.target}): edit it in its file")

    def _fill(self) -> None:
        bold = QFont(self.font())
        bold.setBold(True)
        grey = self.palette().placeholderText()
        entries = catalog()
        for family, names in FAMILIES.items():
            header = QTreeWidgetItem(self.tree, [family.capitalize(), ""])
            header.setFont(0, bold)
            header.setIcon(0, family_icon(family))
            header.setFlags(Qt.ItemIsEnabled)
            self._families[family] = header
            for name in names:
                doc = entries[name].doc
                item = QTreeWidgetItem(header, [name, doc])
                item.setData(0, TYPE_ROLE, name)
                item.setIcon(0, family_icon(family))
                item.setToolTip(0, doc)
                item.setToolTip(1, doc)
                item.setForeground(1, grey)
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                self._items[name] = item
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)

    def item(self, type_name: str) -> QTreeWidgetItem:
        return self._items[type_name]

    def visible_types(self) -> list[str]:
        return [name for name, item in self._items.items() if not item.isHidden() and not item.parent().isHidden()]

    def filter(self, text: str) -> None:
        needle = text.strip().lower()
        for header in self._families.values():
            shown = 0
            for i in range(header.childCount()):
                item = header.child(i)
                match = not needle or needle in item.text(0).lower() or needle in item.text(1).lower()
                item.setHidden(not match)
                shown += match
            header.setHidden(shown == 0)
            header.setExpanded(True)

    def _choose_first(self) -> None:
        visible = self.visible_types()
        if visible:
            exact = next((n for n in visible if n.lower() == self.search.text().strip().lower()), visible[0])
            self.tree.setCurrentItem(self._items[exact])
            self.choose(exact)

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self.choose(type_name)

    def choose(self, type_name: str) -> bool:
        """Emit layerChosen and add the layer at the insertion point; a refusal goes to the status bar."""
        self.layerChosen.emit(type_name)
        return add_layer(self.session, type_name)

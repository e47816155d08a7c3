"""The selected module's constructor arguments as a form generated from the catalog.

Each field turns what the user typed into a JSON value, checks it with the same rules a
project file obeys (:func:`app.network.argtypes.check_value`) and only then sends one SetArgument, so
one Ctrl+Z takes it back. A refused entry stays in its field, highlighted, with the reason in
red beneath it; nothing reaches the network.
"""

from __future__ import annotations

import math

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import NNStudioError
from app.network.addresses import address_of_path, node_at, path_of_address
from app.network.argtypes import COUNT_LIMITS, INT_LIMIT, POSITIVE_INTS, ArgType, check_value
from app.network.catalog import ArgInfo, layer_type
from app.project.network_commands import RenameNode, SetArgument

ERROR_STYLE = "color: #c62828;"
FIELD_ERROR_STYLE = "QLineEdit { border: 1px solid #c62828; background: #ffebee; }"


def format_value(value) -> str:
    """A JSON value as the user types it: 3, "3, 3", same, none, true."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def _scalar(text: str):
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
        return number if math.isfinite(number) else text
    except ValueError:
        return text.strip("'\"")


def parse_value(text: str, arg_type: ArgType):
    """What a field's text means for an argument: "3" -> 3, "3, 3" -> [3, 3], "none" -> None.

    A lone value for an argument that only takes a list becomes a one-item list ("-1" -> [-1]);
    "none" stays a string where the argument's choices include it (reduction="none").
    """
    text = text.strip()
    choices = [c for form in arg_type.forms if form[0] == "str" for c in form[1]]
    if text in choices:
        return text
    if text.startswith(("[", "(")) and text.endswith(("]", ")")):
        text = text[1:-1].strip()
        return [_scalar(part.strip()) for part in text.split(",") if part.strip()] if text else []
    if "," in text:
        return [_scalar(part.strip()) for part in text.split(",") if part.strip()]
    value = _scalar(text)
    scalar_kinds = {form[0] for form in arg_type.forms} - {"ints", "floats", "optints"}
    if not scalar_kinds and value is not None:
        return [value]
    return value


def _is_kind(info: ArgInfo, *forms: tuple) -> bool:
    return info.type.forms == forms


class PropertiesPanel(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.title = QLabel(self)
        self.doc = QLabel(self)
        self.doc.setWordWrap(True)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.summary = QLabel(self)
        self.form_host = QWidget(self)
        self._form_layout = QVBoxLayout(self.form_host)
        self._form_layout.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.doc, self.problem, self.summary, self.form_host):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.name_edit: QLineEdit | None = None
        self._form: QWidget | None = None
        self._key: tuple | None = None
        self._shown = None
        session.selectionChanged.connect(lambda path: self.refresh())
        session.changed.connect(lambda event: self.refresh())
        session.analysed.connect(self._show_problem)
        session.projectReplaced.connect(self.refresh)
        self.refresh()

    # --- what is shown ------------------------------------------------------------------------
    @property
    def address(self):
        return address_of_path(self.session.network, self.session.selected)

    @property
    def node(self):
        address = self.address
        return None if address is None else node_at(self.session.network, address)

    def editor(self, arg_name: str) -> QWidget:
        return self.editors[arg_name]

    def error_text(self, arg_name: str) -> str:
        label = self.errors.get(arg_name)
        return label.text() if label is not None and not label.isHidden() else ""

    def refresh(self) -> None:
        """Rebuild the form for another node; for the same node only put the values back."""
        node, address = self.node, self.address
        if address is None and self._shown is not None:
            # a rename or a move took the path away from under the node: follow the node
            shown = node_at(self.session.network, self._shown)
            if shown is not None and self._key is not None and id(shown) == self._key[2]:
                self.session.select(path_of_address(self.session.network, self._shown))
                return
        self._shown = address
        key = None if node is None else (self.session.selected, node.type, id(node))
        if key != self._key:
            self._key = key
            self._rebuild(node, address)
        else:
            self._show_values(node)
        self._show_problem()

    def _show_problem(self) -> None:
        path = self.session.selected
        messages = [message for where, message in self.session.problems() if where == path and self.node is not None]
        self.problem.setText("\n".join(messages))
        self.problem.setVisible(bool(messages))

    def _rebuild(self, node, address) -> None:
        if self._form is not None:
            self._form.hide()
            self._form.deleteLater()
        self.editors, self.errors, self.name_edit = {}, {}, None
        self._form = QWidget(self.form_host)
        self._form_layout.addWidget(self._form)
        form = QFormLayout(self._form)
        if node is None:
            self.title.setText("Nothing selected")
            self.doc.clear()
            self.summary.clear()
            return
        entry = layer_type(node.type)
        where = self.session.selected or "network"
        self.title.setText(f"<b>{node.type}</b> &nbsp; {where}")
        python = self.session.python_network
        if python is not None:  # the code is the source: nothing to edit here
            self.doc.setText(f"Defined in Python code ({python.target}): edit its arguments in the file.")
            self.summary.clear()
            self.summary.hide()
            return
        self.doc.setText(entry.doc if entry is not None else "")
        if entry is not None and entry.takes_children:
            kind = (
                "sequence container"
                if entry.is_sequence
                else "block with slots (" + ", ".join(s.name for s in entry.slots) + ")"
            )
            self.summary.setText(f"{node.type}: {kind}, {len(node.children)} children")
        else:
            self.summary.clear()
        self.summary.setVisible(bool(self.summary.text()))
        if address:
            parent = node_at(self.session.network, address[:-1])
            parent_entry = layer_type(parent.type)
            if parent_entry is not None and parent_entry.is_sequence and parent.type != "ModuleList":
                self.name_edit = QLineEdit(node.name or "", self._form)
                self.name_edit.setPlaceholderText(f"positional ({address[-1]})")
                self.name_edit.setToolTip("the name given to add_module; empty for a positional child")
                self.name_edit.editingFinished.connect(self._rename)
                form.addRow("name", self._with_error("name", self.name_edit))
        for info in entry.args if entry is not None else ():
            editor = self._make_editor(info)
            tip = f"{info.name}: {info.annotation or info.type.describe()}"
            tip += "\nrequired" if info.required else f"\ndefault: {format_value(info.default)}"
            editor.setToolTip(tip)
            self.editors[info.name] = editor
            form.addRow(info.name, self._with_error(info.name, editor))
        self._show_values(node)

    def _with_error(self, name: str, editor: QWidget) -> QWidget:
        box = QWidget(self._form)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(editor)
        error = QLabel(box)
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.hide()
        layout.addWidget(error)
        self.errors[name] = error
        return box

    def _make_editor(self, info: ArgInfo) -> QWidget:
        name = info.name
        if _is_kind(info, ("bool",)):
            editor = QCheckBox(self._form)
            editor.toggled.connect(lambda checked, n=name: self.set_argument(n, checked))
        elif _is_kind(info, ("int",)):
            editor = QSpinBox(self._form)
            low = 1 if name in POSITIVE_INTS else -INT_LIMIT
            editor.setRange(low, COUNT_LIMITS.get(name, INT_LIMIT))
            editor.setKeyboardTracking(False)
            editor.valueChanged.connect(lambda value, n=name: self.set_argument(n, value))
        elif len(info.type.forms) == 1 and info.type.forms[0][0] == "str" and info.type.forms[0][1]:
            editor = QComboBox(self._form)
            editor.addItems(list(info.type.forms[0][1]))
            editor.currentTextChanged.connect(lambda text, n=name: self.set_argument(n, text))
        else:
            editor = QLineEdit(self._form)
            shown = "default" if info.default is None else f"default: {format_value(info.default)}"
            editor.setPlaceholderText("required" if info.required else shown)
            editor.editingFinished.connect(lambda n=name: self._commit_text(n))
        return editor

    def _show_values(self, node) -> None:
        if node is None:
            return
        entry = layer_type(node.type)
        for name, editor in self.editors.items():
            info = entry.arg(name)
            value = node.args.get(name, None if info.required else info.default)
            editor.blockSignals(True)
            try:
                if isinstance(editor, QCheckBox):
                    editor.setChecked(bool(value))
                elif isinstance(editor, QSpinBox):
                    editor.setValue(int(value) if isinstance(value, int) else editor.minimum())
                elif isinstance(editor, QComboBox):
                    editor.setCurrentText(str(value))
                elif name not in self._refused():
                    editor.setText(format_value(node.args[name]) if name in node.args else "")
            finally:
                editor.blockSignals(False)
        if self.name_edit is not None and "name" not in self._refused():
            self.name_edit.setText(node.name or "")

    def _refused(self) -> set[str]:
        return {name for name, label in self.errors.items() if not label.isHidden()}

    # --- edits --------------------------------------------------------------------------------
    def _show_error(self, name: str, message: str) -> None:
        label = self.errors[name]
        label.setText(message)
        label.setVisible(bool(message))
        field = self.name_edit if name == "name" else self.editors.get(name)
        if isinstance(field, QLineEdit):
            field.setStyleSheet(FIELD_ERROR_STYLE if message else "")
            if message:
                field.selectAll()

    def _commit_text(self, name: str) -> None:
        editor = self.editors.get(name)
        node = self.node
        if editor is None or node is None:
            return
        info = layer_type(node.type).arg(name)
        text = editor.text().strip()
        value = None if not text else parse_value(text, info.type)
        if value is None and text.lower() in ("none", "null") and not info.type.accepts_none():
            problem = f"must be {info.type.describe()}, got null"
        else:
            problem = check_value(info.type, value, name) if value is not None else None
        if problem:
            self._show_error(name, f"{name} {problem}")
            return
        if value == node.args.get(name, None if info.required else info.default) and text:
            self._show_error(name, "")
            return
        self.set_argument(name, value)

    def set_argument(self, name: str, value) -> bool:
        """One SetArgument for the selected node; a refusal is shown under the field."""
        address = self.address
        if address is None:
            return False
        try:
            self.session.execute(SetArgument(address, name, value))
        except NNStudioError as error:
            self._show_error(name, str(error.message))
            self.session.message.emit(str(error))
            self._show_values(self.node)
            return False
        self._show_error(name, "")
        return True

    def _rename(self) -> None:
        address, node = self.address, self.node
        if not address or node is None or self.name_edit is None:
            return
        text = self.name_edit.text().strip()
        new_name = text or None
        if new_name == node.name:
            self._show_error("name", "")
            return
        try:
            self.session.execute(RenameNode(address, new_name))
        except NNStudioError as error:
            self._show_error("name", error.message)
            self.session.message.emit(str(error))
            return
        self._show_error("name", "")

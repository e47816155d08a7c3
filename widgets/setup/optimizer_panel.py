"""The optimizer and scheduler sections: type, defaults, parameter groups, and torch's own text.

Every accepted gesture is one undoable ``SetSection``; a value the core refuses shows its reason
beside the field and leaves the project as it was. The preview is ``repr`` of the optimizer that
``build_optimizer`` makes over a meta-device copy of the network (no weights are allocated), so it
is exactly what ``print(optimizer)`` prints in a training run.
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import NNStudioError
from app.project.section_commands import SetSection
from app.setup.optim import OPTIMIZERS, build_optimizer, hyperparameters
from app.setup.schedulers import ARGUMENTS
from app.training.prepare import apply_freeze, optimizer_config
from widgets.setup.fields import (
    error_label,
    format_args,
    format_value,
    number_edit,
    parse_args,
    parse_value,
    selector_json,
    selector_text,
    show_error,
)

GROUP_COLUMNS = ("lr", "momentum", "weight_decay")
SCHEDULERS = ("none", *ARGUMENTS)


class OptimizerPanel(QWidget):
    """Optimizer type, defaults, parameter groups (first match wins), scheduler, and the preview."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._form_type = ""
        self.default_fields: dict[str, QWidget] = {}
        self.default_errors: dict[str, QLabel] = {}
        self._group_extras: list[dict] = []  # group hyperparameters that have no column

        self.type_combo = QComboBox()
        self.type_combo.addItems(list(OPTIMIZERS))
        self.type_combo.currentTextChanged.connect(self._type_chosen)
        self.type_error = error_label()
        self.defaults_form = QFormLayout()

        self.groups_table = QTableWidget(0, 1)
        self.groups_table.verticalHeader().setVisible(False)
        self.groups_error = error_label()
        buttons = QHBoxLayout()
        self.add_button, self.remove_button, self.up_button, self.down_button = (
            QPushButton(text) for text in ("Add group", "Remove", "Move up", "Move down")
        )
        self.add_button.clicked.connect(self.add_group)
        self.remove_button.clicked.connect(self.remove_group)
        self.up_button.clicked.connect(lambda: self.move_group(-1))
        self.down_button.clicked.connect(lambda: self.move_group(+1))
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.assignment_tree = QTreeWidget(headerHidden=True)
        self.warnings_label = QLabel(wordWrap=True, styleSheet="color: #b9770e;")
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        self.scheduler_combo = QComboBox()
        self.scheduler_combo.addItems(list(SCHEDULERS))
        self.scheduler_combo.currentTextChanged.connect(lambda _: self.apply_scheduler())
        self.scheduler_args = QLineEdit(placeholderText="key=value, ... (e.g. step_size=5, gamma=0.5)")
        self.scheduler_args.returnPressed.connect(self.apply_scheduler)
        self.scheduler_error = error_label()

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Optimizer"))
        top.addWidget(self.type_combo, 1)
        layout.addLayout(top)
        layout.addWidget(self.type_error)
        layout.addLayout(self.defaults_form)
        layout.addWidget(
            QLabel(
                "Parameter groups: each trainable parameter joins the first group whose selector "
                "matches it, else the default group (last). An empty cell inherits the default."
            )
        )
        layout.addWidget(self.groups_table)
        layout.addLayout(buttons)
        layout.addWidget(self.groups_error)
        layout.addWidget(self.assignment_tree)
        layout.addWidget(self.warnings_label)
        scheduler = QHBoxLayout()
        scheduler.addWidget(QLabel("Scheduler"))
        scheduler.addWidget(self.scheduler_combo)
        scheduler.addWidget(self.scheduler_args, 1)
        layout.addLayout(scheduler)
        layout.addWidget(self.scheduler_error)
        layout.addWidget(QLabel("print(optimizer)"))
        layout.addWidget(self.preview, 1)

        session.changed.connect(lambda _event: self.refresh())
        session.projectReplaced.connect(self.refresh)
        self.refresh()

    # The section as JSON ---------------------------------------------------------------------
    def config_json(self) -> dict:
        try:
            return optimizer_config(self.session.project).to_json()
        except NNStudioError:
            return dict(self.session.project.optimizer or {})

    def _execute(self, section: str, value: object, label: QLabel) -> bool:
        try:
            self.session.execute(SetSection(section, value))
        except NNStudioError as error:
            show_error(label, error)
            return False
        show_error(label, None)
        return True

    # Showing the project ---------------------------------------------------------------------
    def refresh(self) -> None:
        config = self.config_json()
        type_name = config.get("type", "SGD")
        self.type_combo.blockSignals(True)
        self.type_combo.setCurrentText(type_name)
        self.type_combo.blockSignals(False)
        if type_name != self._form_type:
            self._build_form(type_name)
        self._show_defaults(config.get("defaults", {}))
        self._show_groups(type_name, config.get("groups", []))
        self._show_scheduler()
        self._show_preview()

    def _build_form(self, type_name: str) -> None:
        while self.defaults_form.rowCount():
            self.defaults_form.removeRow(0)
        self.default_fields, self.default_errors = {}, {}
        for name, default in hyperparameters(type_name).items():
            if isinstance(default, bool):
                field: QWidget = QCheckBox()
                field.toggled.connect(lambda _checked, n=name: self.apply_default(n))
            else:
                field = (
                    number_edit(format_value(default))
                    if not isinstance(default, tuple)
                    else QLineEdit(placeholderText=format_value(default))
                )
                field.returnPressed.connect(lambda n=name: self.apply_default(n))
            error = error_label()
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(error, 2)
            self.defaults_form.addRow(name, row)
            self.default_fields[name], self.default_errors[name] = field, error
        self._form_type = type_name

    def _show_defaults(self, defaults: dict) -> None:
        known = hyperparameters(self._form_type)
        for name, field in self.default_fields.items():
            value = defaults.get(name)
            field.blockSignals(True)
            if isinstance(field, QCheckBox):
                field.setChecked(bool(known[name] if value is None else value))
            else:
                field.setText("" if value is None else format_value(value))
                field.setStyleSheet("")
            field.blockSignals(False)
            show_error(self.default_errors[name], None)

    def _show_groups(self, type_name: str, groups: list[dict]) -> None:
        table = self.groups_table
        columns = ["select", *(c for c in GROUP_COLUMNS if c in hyperparameters(type_name))]
        table.clear()
        table.setColumnCount(len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.setRowCount(len(groups))
        self._group_extras = []
        for row, group in enumerate(groups):
            for column, name in enumerate(columns):
                if name == "select":
                    edit = QLineEdit(selector_text(group.get("select")), placeholderText="path or type:Layer")
                else:
                    edit = number_edit("default")
                    edit.setText(format_value(group[name]) if name in group else "")
                edit.returnPressed.connect(self.apply_groups)
                edit.setProperty("cell", (row, column))
                table.setCellWidget(row, column, edit)
            self._group_extras.append({k: v for k, v in group.items() if k != "select" and k not in columns})
        table.resizeColumnsToContents()

    def _show_scheduler(self) -> None:
        scheduler = self.session.project.scheduler
        self.scheduler_combo.blockSignals(True)
        self.scheduler_combo.setCurrentText(scheduler["type"] if scheduler else "none")
        self.scheduler_combo.blockSignals(False)
        self.scheduler_args.setText(format_args(scheduler.get("args", {})) if scheduler else "")

    def _show_preview(self) -> None:
        self.assignment_tree.clear()
        try:
            config = optimizer_config(self.session.project)
            model = self.session.fresh_meta_model()
            apply_freeze(model, self.session.project.freeze)
            optimizer, assignment = build_optimizer(model, config)
        except NNStudioError as error:
            self.preview.setPlainText(f"cannot build the optimizer:\n{error}")
            self.warnings_label.setText("")
            return
        self.preview.setPlainText(repr(optimizer))
        labels = [g.selector.text for g in config.groups] + ["default"]
        for index, names in enumerate(assignment.names):
            item = QTreeWidgetItem([f"{labels[index]}: {len(names)} parameter(s)"])
            item.addChildren([QTreeWidgetItem([name]) for name in names])
            self.assignment_tree.addTopLevelItem(item)
        self.warnings_label.setText("\n".join(assignment.warnings(config)))

    # Gestures -> commands --------------------------------------------------------------------
    def _type_chosen(self, type_name: str) -> None:
        """Keep whatever the new type also has (lr, weight_decay); drop the rest."""
        config = self.config_json()
        known = hyperparameters(type_name)
        value = {
            "type": type_name,
            "defaults": {k: v for k, v in config.get("defaults", {}).items() if k in known},
            "groups": [{k: v for k, v in g.items() if k == "select" or k in known} for g in config.get("groups", [])],
        }
        if not self._execute("optimizer", value, self.type_error):
            self.refresh()

    def apply_default(self, name: str) -> bool:
        field = self.default_fields[name]
        config = self.config_json()
        defaults = dict(config.get("defaults", {}))
        if isinstance(field, QCheckBox):
            defaults[name] = field.isChecked()
        elif not field.text().strip():
            defaults.pop(name, None)
        elif isinstance(hyperparameters(self._form_type)[name], tuple):
            defaults[name] = [parse_value(v) for v in field.text().split(",")]
        else:
            defaults[name] = parse_value(field.text())
        accepted = self._execute("optimizer", {**config, "defaults": defaults}, self.default_errors[name])
        if not accepted and isinstance(field, QLineEdit):
            field.setStyleSheet("border: 1px solid #c0392b;")
        return accepted

    def group_field(self, row: int, column: str) -> QLineEdit:
        """The editor of one cell: ``column`` is "select" or a hyperparameter name."""
        header = [self.groups_table.horizontalHeaderItem(c).text() for c in range(self.groups_table.columnCount())]
        return self.groups_table.cellWidget(row, header.index(column))

    def _table_groups(self) -> list[dict]:
        table = self.groups_table
        header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
        groups = []
        for row in range(table.rowCount()):
            group: dict = {"select": selector_json(table.cellWidget(row, 0).text())}
            for column in range(1, len(header)):
                text = table.cellWidget(row, column).text().strip()
                if text:
                    group[header[column]] = parse_value(text)
            group.update(self._group_extras[row] if row < len(self._group_extras) else {})
            groups.append(group)
        return groups

    def _apply_groups(self, groups: list[dict]) -> bool:
        return self._execute("optimizer", {**self.config_json(), "groups": groups}, self.groups_error)

    def apply_groups(self) -> bool:
        return self._apply_groups(self._table_groups())

    def _current_row(self) -> int:
        focused = self.focusWidget()
        cell = focused.property("cell") if focused is not None else None
        return cell[0] if cell else self.groups_table.currentRow()

    def add_group(self) -> bool:
        """A new last group over the selected module (else the network's first child)."""
        names = self.session.network.child_names()
        select = self.session.selected or (names[0] if names else "*")
        return self._apply_groups([*self.config_json().get("groups", []), {"select": select}])

    def remove_group(self, row: int | None = None) -> bool:
        groups = self.config_json().get("groups", [])
        row = self._current_row() if row is None else row
        if not 0 <= row < len(groups):
            return False
        del groups[row]
        return self._apply_groups(groups)

    def move_group(self, step: int, row: int | None = None) -> bool:
        groups = self.config_json().get("groups", [])
        row = self._current_row() if row is None else row
        target = row + step
        if not (0 <= row < len(groups) and 0 <= target < len(groups)):
            return False
        groups[row], groups[target] = groups[target], groups[row]
        if self._apply_groups(groups):
            self.groups_table.setCurrentCell(target, 0)
            return True
        return False

    def apply_scheduler(self) -> bool:
        type_name = self.scheduler_combo.currentText()
        if type_name == "none":
            value = None
        else:
            try:
                args = parse_args(self.scheduler_args.text(), "scheduler.args")
            except NNStudioError as error:
                show_error(self.scheduler_error, error)
                return False
            value = {"type": type_name, "args": args} if args else {"type": type_name}
        return self._execute("scheduler", value, self.scheduler_error)

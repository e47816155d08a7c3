"""The init section: the seed and the rules (selector -> ``nn.init`` scheme), and re-initialising.

A rule set that cannot be applied (``orthogonal`` on a bias) is tried first on a meta-device copy
of the network, so the refusal names the parameter and the project stays as it was. "Re-initialise"
makes the model from the project as a fresh run would (seed, then the rules; saved weights are
ignored), shows the selected parameter's values before and after, and hands the model to the session.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)
from torch import nn

from app.errors import NNStudioError
from app.project.section_commands import SetSection
from app.setup.initializers import SCHEMES, apply_init, parse_init
from app.setup.selectors import named_parameters_with_owner
from app.training.prepare import make_model
from widgets.setup.fields import error_label, format_args, parse_args, selector_json, selector_text, show_error

BINS = 50
COLUMNS = ("select", "scheme", "args")


def check_rules(session, init: dict) -> None:
    """Apply the rules to a meta-device copy: raises the error a real run would (naming the parameter)."""
    config = parse_init(init)
    try:
        meta = session.fresh_meta_model()
    except NNStudioError:
        return  # the network itself is broken: the problems list says so
    try:
        apply_init(meta, config)
    except NNStudioError:
        raise
    except Exception:  # noqa: BLE001 - an init function the meta device lacks; the real run decides
        pass


def histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(values, bins=BINS)
    return edges, counts


class InitPanel(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._before: nn.Module | None = None  # the model as it was before the last rules edit

        self.seed_edit = QLineEdit(placeholderText="an integer, or none")
        self.seed_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"none|\d{1,20}"), self))
        self.seed_edit.returnPressed.connect(self.apply_seed)
        self.seed_error = error_label()

        self.rules_table = QTableWidget(0, len(COLUMNS))
        header = self.rules_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Stretch)  # selector, scheme and args share the width
        header.setMinimumSectionSize(110)
        self.rules_table.setHorizontalHeaderLabels(list(COLUMNS))
        self.rules_table.verticalHeader().setVisible(False)
        self.rules_error = error_label()
        buttons = QHBoxLayout()
        self.add_button, self.remove_button, self.up_button, self.down_button = (
            QPushButton(text) for text in ("Add rule", "Remove", "Move up", "Move down")
        )
        self.add_button.clicked.connect(self.add_rule)
        self.remove_button.clicked.connect(self.remove_rule)
        self.up_button.clicked.connect(lambda: self.move_rule(-1))
        self.down_button.clicked.connect(lambda: self.move_rule(+1))
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.reinit_button = QPushButton("Re-initialise")
        self.reinit_button.clicked.connect(self.reinitialise)
        self.parameter_combo = QComboBox()
        self.parameter_combo.currentTextChanged.connect(lambda _: self.show_histograms())
        self.before_plot = pg.PlotWidget(title="before")
        self.after_plot = pg.PlotWidget(title="after")
        self.before_curve = self.before_plot.plot(stepMode="center", fillLevel=0, brush=(100, 100, 100, 120))
        self.after_curve = self.after_plot.plot(stepMode="center", fillLevel=0, brush=(50, 120, 220, 120))
        self._shown: tuple[nn.Module | None, nn.Module | None] = (None, None)

        layout = QVBoxLayout(self)
        seed = QHBoxLayout()
        seed.addWidget(QLabel("Seed (torch.manual_seed before building)"))
        seed.addWidget(self.seed_edit, 1)
        layout.addLayout(seed)
        layout.addWidget(self.seed_error)
        layout.addWidget(
            QLabel(
                "Each parameter takes the first rule whose selector matches it; "
                "a parameter no rule matches keeps its layer's default (reset_parameters)."
            )
        )
        layout.addWidget(self.rules_table)
        layout.addLayout(buttons)
        layout.addWidget(self.rules_error)
        row = QHBoxLayout()
        row.addWidget(self.reinit_button)
        row.addWidget(QLabel("Parameter"))
        row.addWidget(self.parameter_combo, 1)
        layout.addLayout(row)
        plots = QHBoxLayout()
        plots.addWidget(self.before_plot)
        plots.addWidget(self.after_plot)
        layout.addLayout(plots, 1)

        session.changed.connect(lambda _event: self.refresh())
        session.projectReplaced.connect(self._start_over)
        self.refresh()

    # Showing the project ---------------------------------------------------------------------
    def init_json(self) -> dict:
        return dict(self.session.project.init or {"seed": 0, "rules": []})

    def refresh(self) -> None:
        init = self.init_json()
        self.seed_edit.setText("none" if init.get("seed") is None else str(init["seed"]))
        rules = init.get("rules", [])
        table = self.rules_table
        table.setRowCount(0)
        table.setRowCount(len(rules))
        for row, rule in enumerate(rules):
            select = QLineEdit(selector_text(rule.get("select")), placeholderText="path, *.bias or type:Conv2d")
            scheme = QComboBox()
            scheme.addItems(list(SCHEMES))
            scheme.setCurrentText(rule.get("scheme", "default"))
            args = QLineEdit(format_args(rule.get("args", {})), placeholderText="key=value, ...")
            select.returnPressed.connect(self.apply_rules)
            args.returnPressed.connect(self.apply_rules)
            scheme.currentTextChanged.connect(lambda _, r=row: self._scheme_chosen(r))
            for column, editor in enumerate((select, scheme, args)):
                editor.setProperty("cell", (row, column))
                table.setCellWidget(row, column, editor)
        table.resizeColumnsToContents()
        self._fill_parameters()

    def _fill_parameters(self) -> None:
        try:
            names = [name for name, _, _ in named_parameters_with_owner(self.session.fresh_meta_model())]
        except NNStudioError:
            names = []
        current = self.parameter_combo.currentText()
        if names != [self.parameter_combo.itemText(i) for i in range(self.parameter_combo.count())]:
            self.parameter_combo.blockSignals(True)
            self.parameter_combo.clear()
            self.parameter_combo.addItems(names)
            if current in names:
                self.parameter_combo.setCurrentText(current)
            self.parameter_combo.blockSignals(False)

    def _start_over(self) -> None:
        self._before, self._shown = None, (None, None)
        self.before_curve.setData([], [])
        self.after_curve.setData([], [])
        show_error(self.rules_error, None)
        self.refresh()

    # Gestures -> commands --------------------------------------------------------------------
    def _execute(self, init: dict, label) -> bool:
        try:
            check_rules(self.session, init)
        except NNStudioError as error:
            show_error(label, error)
            return False
        before = self.session.model()
        try:
            self.session.execute(SetSection("init", init))
        except NNStudioError as error:
            show_error(label, error)
            return False
        show_error(label, None)
        if self._before is None:
            self._before = before
        return True

    def apply_seed(self) -> bool:
        text = self.seed_edit.text().strip()
        seed = None if text in ("", "none") else int(text)
        return self._execute({**self.init_json(), "seed": seed}, self.seed_error)

    def rule_field(self, row: int, column: str) -> QWidget:
        return self.rules_table.cellWidget(row, COLUMNS.index(column))

    def _table_rules(self) -> list[dict]:
        rules = []
        for row in range(self.rules_table.rowCount()):
            rule = {
                "select": selector_json(self.rule_field(row, "select").text()),
                "scheme": self.rule_field(row, "scheme").currentText(),
            }
            args = parse_args(self.rule_field(row, "args").text(), f"init.rules[{row}].args")
            if args:
                rule["args"] = args
            rules.append(rule)
        return rules

    def _apply_rules(self, rules: list[dict]) -> bool:
        return self._execute({**self.init_json(), "rules": rules}, self.rules_error)

    def apply_rules(self) -> bool:
        try:
            rules = self._table_rules()
        except NNStudioError as error:
            show_error(self.rules_error, error)
            return False
        return self._apply_rules(rules)

    def _scheme_chosen(self, row: int) -> None:
        """A new scheme takes none of the old one's arguments."""
        self.rule_field(row, "args").clear()
        self.apply_rules()

    def _current_row(self) -> int:
        focused = self.focusWidget()
        cell = focused.property("cell") if focused is not None else None
        return cell[0] if cell else self.rules_table.currentRow()

    def add_rule(self) -> bool:
        return self._apply_rules([*self.init_json().get("rules", []), {"select": "*.weight", "scheme": "default"}])

    def remove_rule(self) -> bool:
        rules, row = self.init_json().get("rules", []), self._current_row()
        if not 0 <= row < len(rules):
            return False
        del rules[row]
        return self._apply_rules(rules)

    def move_rule(self, step: int) -> bool:
        rules, row = self.init_json().get("rules", []), self._current_row()
        target = row + step
        if not (0 <= row < len(rules) and 0 <= target < len(rules)):
            return False
        rules[row], rules[target] = rules[target], rules[row]
        if self._apply_rules(rules):
            self.rules_table.setCurrentCell(target, 0)
            return True
        return False

    # Re-initialising -------------------------------------------------------------------------
    def reinitialise(self) -> bool:
        """A fresh model from the project's seed and rules; on an error nothing changes."""
        before = self._before if self._before is not None else self.session.model()
        try:
            after = make_model(self.session.project, use_weights=False)
        except NNStudioError as error:
            show_error(self.rules_error, error)
            return False
        show_error(self.rules_error, None)
        self.session.set_model(after)
        self._before, self._shown = None, (before, after)
        self.session.message.emit("re-initialised the model from the init rules")
        self.show_histograms()
        return True

    def show_histograms(self) -> None:
        name = self.parameter_combo.currentText()
        for model, curve in zip(self._shown, (self.before_curve, self.after_curve)):
            values = dict(model.named_parameters()).get(name) if model is not None else None
            if values is None:
                curve.setData([], [])
                continue
            edges, counts = histogram(values.detach().float().cpu().numpy().ravel())
            curve.setData(edges, counts)

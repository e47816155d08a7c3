"""The summary: input shapes, the per-layer analysis table, totals, ``print(model)`` and warnings.

Everything shown comes from the session's analysis (meta device: no weights); the only edits
are the inputs, sent as one undoable ``SetSection("inputs", ...)``.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import NNStudioError
from app.network.analysis import Analysis, LayerRow
from app.network.inputs import DTYPES, parse_shape_text
from app.network.report import format_bytes, format_shape, humanise
from app.project.section_commands import SetSection
from app.setup.memory_text import fit_line, memory_lines

COLUMNS = ("Layer", "Input shape", "Output shape", "Param #", "Trainable", "Buffers", "FLOPs", "Saved", "Status")
FAILED = QColor(200, 30, 30)
MUTED = QColor(128, 128, 128)


class AnalysisTableModel(QAbstractTableModel):
    """One row per analysed module; failed rows red, rows without shapes grey."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[LayerRow] = []

    def set_rows(self, rows: list[LayerRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def cells(self, row: LayerRow) -> tuple[str, ...]:
        trainable = row.trainable_params
        output = format_shape(row.output_shape) if row.status == "ok" else "-"
        return (
            f"{row.path} ({row.type})",
            format_shape(row.input_shape),
            output,
            f"{row.params:,}",
            f"{trainable:,}",
            f"{row.buffers:,}",
            humanise(row.flops),
            format_bytes(row.activation_bytes),
            row.status,
        )

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.DisplayRole:
            return self.cells(row)[index.column()]
        if role == Qt.ForegroundRole:
            if row.status == "failed":
                return FAILED
            if row.status in ("not called", "not computed"):
                return MUTED
        if role == Qt.ToolTipRole and row.message:
            return row.message
        if role == Qt.ToolTipRole and index.column() == 6 and row.flops is not None:
            return f"{row.flops:,} forward FLOPs, its submodules included"
        if role == Qt.ToolTipRole and index.column() == 7 and row.activation_bytes is not None:
            return f"{row.activation_bytes:,} bytes its forward saves for backward"
        if role == Qt.TextAlignmentRole and 3 <= index.column() <= 7:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.UserRole:
            return row.path
        return None


class InputRow(QWidget):
    """One input: its shape as text and its dtype."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.shape_edit = QLineEdit(placeholderText="8, 3, 32, 32")
        self.dtype_box = QComboBox()
        self.dtype_box.addItems(list(DTYPES))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Input shape"))
        layout.addWidget(self.shape_edit, 1)
        layout.addWidget(self.dtype_box)

    def show_input(self, shape: list[int], dtype: str) -> None:
        self.shape_edit.setText(", ".join(str(s) for s in shape))
        self.dtype_box.blockSignals(True)
        self.dtype_box.setCurrentText(dtype)
        self.dtype_box.blockSignals(False)


class SummaryPanel(QWidget):
    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.input_rows: list[InputRow] = []
        self.totals: dict = {}
        self._syncing = False

        self.inputs_box = QVBoxLayout()
        self.add_input_button = QPushButton("Add input")
        self.remove_input_button = QPushButton("Remove input")
        self.add_input_button.clicked.connect(self.add_input)
        self.remove_input_button.clicked.connect(self.remove_input)
        self.input_error = QLabel(wordWrap=True)
        self.input_error.setStyleSheet("color: rgb(200, 30, 30);")
        self.input_error.hide()

        self.table_model = AnalysisTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection)

        self.totals_label = QLabel(wordWrap=True, textFormat=Qt.RichText)
        self.totals_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.memory_label = QLabel(wordWrap=True, textFormat=Qt.RichText)
        self.memory_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.model_text = QPlainTextEdit(readOnly=True)
        self.model_text.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.model_text.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.warnings_list = QListWidget()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.model_text, "print(model)")
        self.tabs.addTab(self.warnings_list, "Warnings")

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_input_button)
        buttons.addWidget(self.remove_input_button)
        buttons.addStretch(1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(self.inputs_box)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.input_error)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.totals_label)
        top_layout.addWidget(self.memory_label)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        session.analysed.connect(self.refresh)
        session.selectionChanged.connect(self._follow_selection)
        self.refresh()

    # Inputs ----------------------------------------------------------------------------------
    def _show_inputs(self) -> None:
        inputs = self.session.project.inputs
        while len(self.input_rows) < len(inputs):
            row = InputRow()
            row.shape_edit.returnPressed.connect(self.apply_inputs)
            row.shape_edit.editingFinished.connect(self.apply_inputs)
            row.dtype_box.currentTextChanged.connect(self.apply_inputs)
            self.inputs_box.addWidget(row)
            self.input_rows.append(row)
        while len(self.input_rows) > len(inputs):
            row = self.input_rows.pop()
            self.inputs_box.removeWidget(row)
            row.deleteLater()
        for row, spec in zip(self.input_rows, inputs):
            row.show_input(spec.shape, spec.dtype)
        self.remove_input_button.setEnabled(len(inputs) > 1)

    def _edited_inputs(self) -> list[dict]:
        """The inputs as typed; raises NNStudioError naming the input that is wrong."""
        values = []
        for i, row in enumerate(self.input_rows):
            shape = parse_shape_text(row.shape_edit.text(), f"input {i + 1}")
            values.append({"shape": shape, "dtype": row.dtype_box.currentText()})
        return values

    def apply_inputs(self) -> bool:
        """Send the typed inputs as one undoable edit; a bad one is refused and shown in red."""
        if self._syncing:
            return False
        try:
            values = self._edited_inputs()
        except NNStudioError as error:
            return self._refuse(error)
        current = [spec.to_json() for spec in self.session.project.inputs]
        self.input_error.hide()
        if values == current:
            return False
        return self._execute(values)

    def add_input(self) -> bool:
        current = [spec.to_json() for spec in self.session.project.inputs]
        return self._execute(current + [dict(current[-1])] if current else [{"shape": [1, 3], "dtype": "float32"}])

    def remove_input(self) -> bool:
        current = [spec.to_json() for spec in self.session.project.inputs]
        return len(current) > 1 and self._execute(current[:-1])

    def _execute(self, values: list[dict]) -> bool:
        try:
            self.session.execute(SetSection("inputs", values))
        except NNStudioError as error:
            return self._refuse(error)
        self.input_error.hide()
        return True

    def _refuse(self, error: NNStudioError) -> bool:
        self.input_error.setText(f"Refused: {error}")
        self.input_error.show()
        return False

    # The analysis ----------------------------------------------------------------------------
    def refresh(self) -> None:
        session = self.session
        self._syncing = True
        try:
            self._show_inputs()
        finally:
            self._syncing = False
        meta = session.meta_model
        error = session.build_error
        self.model_text.setPlainText(repr(meta) if meta is not None else f"The network cannot be built: {error}")
        analysis: Analysis | None = session.analysis
        self.table_model.set_rows(analysis.rows if analysis is not None else [])
        self._show_totals(analysis)
        self._show_memory()
        self.warnings_list.clear()
        self.warnings_list.addItems([str(w) for w in session.warnings])
        self.tabs.setTabText(1, f"Warnings ({len(session.warnings)})")
        self._follow_selection(session.selected)

    def _show_totals(self, analysis: Analysis | None) -> None:
        if analysis is None:
            error = self.session.build_error
            message = html.escape(str(error)) if error else "No analysis"
            self.totals_label.setText(f"<span style='color:#c81e1e'>{message}</span>")
            return
        total = analysis.total_params
        trainable = analysis.trainable_params
        text = (
            f"Total params: {total:,} &nbsp; Trainable: {trainable:,} &nbsp; "
            f"Non-trainable: {total - trainable:,} &nbsp; Buffers: {analysis.total_buffers:,} &nbsp; "
            f"Params size: {analysis.param_bytes / 1e6:.2f} MB"
        )
        if analysis.error is not None:
            text += f"<br><span style='color:#c81e1e'>{html.escape(str(analysis.error))}</span>"
        self.totals_label.setText(text)
        self.totals = {
            "total": total,
            "trainable": trainable,
            "buffers": analysis.total_buffers,
            "param_mb": analysis.param_bytes / 1e6,
        }

    def _show_memory(self) -> None:
        """The training memory by part and, for the project's device, whether a step fits."""
        cost = self.session.estimate
        if cost is None or cost.memory is None:
            self.memory_label.setText("Training memory: needs a forward that runs (give an input shape)")
            return
        head, *parts = memory_lines(cost.memory)
        lines = [f"<b>{html.escape(head)}</b>", " &nbsp; ".join(html.escape(p.strip()) for p in parts)]
        if cost.fit is not None:
            colour = "#c81e1e" if cost.fit.fits is False else "#2e7d32" if cost.fit.fits else "#808080"
            lines.append(f"<span style='color:{colour}'>{html.escape(fit_line(cost.fit))}</span>")
        self.memory_label.setText("<br>".join(lines))

    def row_texts(self) -> list[tuple[str, ...]]:
        """What the table shows, row by row (for tests and copy)."""
        return [self.table_model.cells(row) for row in self.table_model.rows]

    # Selection -------------------------------------------------------------------------------
    def _on_table_selection(self, *_) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and not self._syncing:
            self.session.select(self.table_model.rows[rows[0].row()].path)

    def _follow_selection(self, path: str) -> None:
        for i, row in enumerate(self.table_model.rows):
            if row.path == path:
                self._syncing = True
                try:
                    self.table.selectionModel().select(
                        self.table_model.index(i, 0),
                        QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows,
                    )
                finally:
                    self._syncing = False
                return

"""A user's Python model that cannot become an editable project, shown read-only: print(model),
the per-layer summary on the meta device, and what PyTorch cannot see (lint)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget
from torch import nn

from app.network.analysis import analyse
from app.network.inputs import InputSpec
from app.network.lint import lint
from app.network.report import format_summary


def inspection_text(model: nn.Module, inputs: list[InputSpec] | None) -> str:
    analysis = analyse(model, inputs)
    warnings = [warning.message for warning in lint(model)]
    return f"{model}\n\n{format_summary(analysis, inputs, warnings)}"


class InspectDialog(QDialog):
    def __init__(
        self, target: str, model: nn.Module, inputs: list[InputSpec] | None, reason: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Inspect {target}")
        self.resize(900, 700)
        note = QLabel(f"Read-only: this model cannot be edited here ({reason}).")
        note.setWordWrap(True)
        note.setProperty("role", "caption")
        self.text = QPlainTextEdit(inspection_text(model, inputs))
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, rejected=self.reject, accepted=self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

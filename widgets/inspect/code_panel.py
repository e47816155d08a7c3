"""The Code tab: the project as the standalone PyTorch script ``File > Export > Python script`` writes.

The script comes from :func:`app.interop.script.generate_script`. It is regenerated lazily: an edit
only marks the text stale, and the script is generated again when the tab is on screen (at once
when it already is, once per burst of edits). A project the exporter cannot handle shows the
reason in red instead of the code.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import NNStudioError
from app.interop.script import generate_script
from widgets.inspect.python_highlighter import PythonHighlighter
from widgets.session import Session, module_path_of


def script_name(session: Session) -> str:
    """The file name the script is written under (and that its own text tells you to run)."""
    return f"{session.path.stem}.py" if session.path is not None else "model.py"


class CodePanel(QWidget):
    saveRequested = Signal()  # "Save as...": the owner runs File > Export > Python script

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._stale = True  # nothing generated yet: the first showing generates
        self.caption = QLabel()
        self.caption.setProperty("role", "caption")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the whole script to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton("Save as...")
        self.save_button.setToolTip("Write the script to a .py file (File > Export > Python script)")
        self.save_button.clicked.connect(self.saveRequested)
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setStyleSheet("color: #b3261e;")  # red also outside the main window's style sheet
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("codeView")
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.editor.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        self.highlighter = PythonHighlighter(self.editor.document())

        row = QHBoxLayout()
        row.addWidget(self.caption, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.editor, 1)
        self.error.setVisible(False)

        self._timer = QTimer(self, singleShot=True, interval=0)  # one regeneration per burst of edits
        self._timer.timeout.connect(self._refresh_if_shown)
        session.changed.connect(lambda _event: self.mark_stale())
        session.projectReplaced.connect(self.mark_stale)

    @property
    def stale(self) -> bool:
        return self._stale

    def mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self._timer.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _refresh_if_shown(self) -> None:
        if self._stale and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Generate the script now; an error shows in red in place of the code."""
        self._stale = False
        name = script_name(self.session)
        try:
            text = generate_script(self.session.project, name)
        except NNStudioError as error:
            where = module_path_of(self.session.network, error.where) or error.where  # features.0, not a JSON path
            self._show_error(f"{where}: {error.message}" if where else error.message)
            return
        except Exception as error:  # an exporter bug must not take the window down
            self._show_error(f"{type(error).__name__}: {error}")
            return
        self.caption.setText(
            f"A standalone PyTorch script (torch only): <code>python {name}</code> builds and trains the model"
        )
        self.error.setVisible(False)
        self.editor.setVisible(True)
        self.copy_button.setEnabled(True)
        self.save_button.setEnabled(True)
        if text != self.editor.toPlainText():
            scroll = self.editor.verticalScrollBar().value()  # keep the reader's place across edits
            self.editor.setPlainText(text)
            self.editor.verticalScrollBar().setValue(scroll)

    def _show_error(self, message: str) -> None:
        self.caption.setText("The script cannot be generated for this project")
        self.error.setText(
            f"Cannot generate the script: {message}\n\nThe script comes back once the "
            "problem is fixed (the Problems list names it too)."
        )
        self.error.setVisible(True)
        self.editor.setVisible(False)
        self.editor.clear()
        self.copy_button.setEnabled(False)
        self.save_button.setEnabled(False)

    def text(self) -> str:
        """The script shown ("" while the project cannot be exported)."""
        return self.editor.toPlainText()

    def copy(self) -> None:
        if self._stale:
            self.refresh()
        if not self.text():
            return
        QApplication.clipboard().setText(self.text())
        self.session.message.emit("script copied")

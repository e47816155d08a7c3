"""The welcome page: what the window shows when it starts without a project.

The examples, each with a line (what it shows, how long its run is), the ways to start (New,
Open, a Python model) and the recent files. It knows nothing of files or sessions: the window
hands it the actions and a function that opens a path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.data.datasets import ARGUMENTS
from app.errors import NNStudioError
from app.project.project_file import Project, load_project

ROLE_PATH = Qt.UserRole


def first_sentence(text: str) -> str:
    """The description up to its first full stop or colon: what the example shows, in a line."""
    ends = [i for i in (text.find(". "), text.find(": ")) if i >= 0]
    return text[: min(ends)] + "." if ends else text


def run_line(project: Project) -> str:
    """How long the example's default run is, from its training section: epochs, data, batch."""
    training = project.training
    if not training:
        return "no training section"
    dataset = training.get("dataset", {})
    name = dataset.get("name", "?")
    if name in ("csv", "npz"):
        data = Path(str(dataset.get("path", ""))).name
    else:
        arguments = ARGUMENTS.get(name, {})
        size = dataset.get("size", arguments["size"].default if "size" in arguments else None)
        data = f"{name} ({size:,} samples)" if isinstance(size, int) else name
    epochs = training.get("epochs", 1)
    return f"{epochs} epoch{'s' if epochs != 1 else ''} of {data}, batch {training.get('batch_size', 32)}"


class WelcomePage(QWidget):
    def __init__(
        self,
        start_actions: Sequence[QAction],
        examples: Sequence[Path],
        recent: Sequence[str],
        open_path: Callable[[Path, bool], object],
        parent: QWidget | None = None,
    ) -> None:
        """``open_path(path, remember)`` opens a project; examples are opened with remember=False."""
        super().__init__(parent, objectName="welcomePage")
        self.open_path = open_path
        title = QLabel("<h2>nnstudio</h2>A workbench for torch.nn: build a network, see what PyTorch sees, train it.")
        title.setWordWrap(True)
        self.start_buttons = [self._button(action) for action in start_actions]
        start_row = QHBoxLayout()
        for button in self.start_buttons:
            start_row.addWidget(button)
        start_row.addStretch(1)
        self.example_buttons: dict[Path, QPushButton] = {}
        example_list = QVBoxLayout()
        example_list.setSpacing(10)
        for path in examples:
            example_list.addLayout(self._example_row(path))
        example_list.addStretch(1)
        self.recent = QListWidget(objectName="welcomeRecent")
        for entry in recent:
            item = QListWidgetItem(Path(entry).name)
            item.setToolTip(entry)
            item.setData(ROLE_PATH, Path(entry))
            self.recent.addItem(item)
        self.recent.itemActivated.connect(lambda item: self.open_path(item.data(ROLE_PATH), True))

        columns = QGridLayout()
        columns.addWidget(_heading("Examples: open one, then Start (F5) trains it"), 0, 0)
        columns.addLayout(example_list, 1, 0)
        columns.addWidget(_heading("Recent files"), 0, 1)
        columns.addWidget(self.recent if recent else _caption("No recent files yet."), 1, 1, Qt.AlignTop)
        columns.setColumnStretch(0, 3)
        columns.setColumnStretch(1, 2)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(title)
        layout.addLayout(start_row)
        layout.addLayout(columns, 1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.NoFrame)
        scroll.setWidget(inner)
        QVBoxLayout(self).addWidget(scroll)
        self.layout().setContentsMargins(0, 0, 0, 0)

    def example_paths(self) -> list[Path]:
        return list(self.example_buttons)

    def _example_row(self, path: Path) -> QHBoxLayout:
        try:
            project = load_project(path)
        except (NNStudioError, OSError) as error:  # listed anyway: opening it says what is wrong
            name, what, run, tip = path.stem, str(error), "", str(error)
        else:
            name, what, tip = project.name or path.stem, first_sentence(project.description), project.description
            run = f"Run: {run_line(project)}"
        text = QLabel(
            f"<b>{escape(name)}</b> &nbsp;<span style='color:#5b6573'>{escape(path.name)}</span><br>"
            f"{escape(what)}<br><span style='color:#5b6573'>{escape(run)}</span>",
            wordWrap=True,
            toolTip=tip,
        )
        button = QPushButton("Open", objectName=f"openExample_{path.stem}", toolTip=f"Open {path}")
        button.clicked.connect(lambda: self.open_path(path, False))
        self.example_buttons[path] = button
        row = QHBoxLayout()
        row.addWidget(button, 0, Qt.AlignTop)
        row.addWidget(text, 1)
        return row

    def _button(self, action: QAction) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        button.setMinimumWidth(120)
        return button


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setWordWrap(True)
    return label


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "caption")
    return label

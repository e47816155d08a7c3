"""File actions: New, New from Python Model, Open, Open example, Open recent, Save, Save As.

Opening a broken file shows its error (with the JSON path) and changes nothing; closing or
replacing a project with unsaved changes asks first.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from app.errors import NNStudioError
from widgets.python_code import PythonActions
from widgets.session import new_project

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
FILTER = "nnstudio projects (*.nnproj);;All files (*)"
MAX_RECENT = 8


def example_paths() -> list[Path]:
    """The example projects, in the order the menu and the welcome page list them."""
    return sorted(EXAMPLES.glob("*.nnproj"))


class FileActions:
    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.session = window.session
        self.new_action = QAction("New", window, shortcut=QKeySequence.New, triggered=self.new)
        self.open_action = QAction("Open...", window, shortcut=QKeySequence.Open, triggered=self.open_dialog)
        self.save_action = QAction("Save", window, shortcut=QKeySequence.Save, triggered=self.save)
        self.save_as_action = QAction(
            "Save As...", window, shortcut=QKeySequence("Ctrl+Shift+S"), triggered=self.save_as
        )
        self.python = PythonActions(window, self.maybe_save)
        self.quit_action = QAction("Quit", window, shortcut=QKeySequence.Quit, triggered=window.close)
        self.recent_menu = QMenu("Open Recent", window)
        self.examples_menu = QMenu("Open Example", window)
        for path in example_paths():
            self.examples_menu.addAction(path.stem, lambda checked=False, p=path: self.open(p, remember=False))
        self._refresh_recent()

    def populate(self, menu: QMenu) -> None:
        menu.addActions([self.new_action, self.python.new_action, self.open_action])
        menu.addMenu(self.examples_menu)
        menu.addMenu(self.recent_menu)
        menu.addSeparator()
        menu.addActions([self.python.trust_action, self.python.folders_action])
        menu.addSeparator()
        menu.addActions([self.save_action, self.save_as_action])
        menu.addSeparator()
        menu.addAction("Export Diagram as PNG...", lambda: self._export_diagram("png"))
        menu.addAction("Export Diagram as SVG...", lambda: self._export_diagram("svg"))
        menu.addSeparator()
        menu.addAction(self.quit_action)

    # New / open ------------------------------------------------------------------------------
    def new(self) -> None:
        if self.maybe_save("starting a new project"):
            self.session.replace(new_project(), None)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", str(self._folder()), FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path, remember: bool = True) -> bool:
        """Open a project; a broken file is reported and the current project stays as it was."""
        if not self.maybe_save("opening another project"):
            return False
        try:
            self.session.open(path)
        except (NNStudioError, OSError) as error:
            QMessageBox.critical(self.window, "Cannot open the project", f"{path}\n\n{error}")
            return False
        if remember:
            self._remember(path)
        self.session.message.emit(f"opened {path}")
        return True

    # Save ------------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.session.path is None:
            return self.save_as()
        return self._save_to(self.session.path)

    def save_as(self) -> bool:
        start = str(self.session.path or self._folder() / f"{self.session.project.name or 'untitled'}.nnproj")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", start, FILTER)
        if not path:
            return False
        path = Path(path) if path.endswith(".nnproj") else Path(path + ".nnproj")
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            self.session.save(path)
        except (NNStudioError, OSError) as error:
            QMessageBox.critical(self.window, "Cannot save", f"{path}\n\n{error}\n\nYour project is still open.")
            return False
        self._remember(path)
        self.session.message.emit(f"saved {path}")
        return True

    def maybe_save(self, doing: str) -> bool:
        """True when it is fine to drop the current project (saved, or the user said so).

        A training run is stopped first, so its weights are among what the user may save."""
        self.session.stop_run()
        if not self.session.is_dirty:
            return True
        answer = QMessageBox.question(
            self.window,
            "Unsaved changes",
            f"Save the changes to {self.session.path.name if self.session.path else 'this project'} before {doing}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
            QMessageBox.Save,
        )
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    # Recent files ----------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = QSettings().value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: Path) -> None:
        entry = str(Path(path).resolve())
        QSettings().setValue("recent", ([entry] + [p for p in self.recent() if p != entry])[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent():
            self.recent_menu.addAction(entry, lambda checked=False, p=entry: self.open(Path(p)))
        self.recent_menu.setEnabled(bool(self.recent()))

    def _folder(self) -> Path:
        return self.session.path.parent if self.session.path else Path.cwd()

    def _export_diagram(self, kind: str) -> None:
        name = f"{(self.session.path.stem if self.session.path else 'network')}.{kind}"
        path, _ = QFileDialog.getSaveFileName(
            self.window, f"Export diagram as {kind.upper()}", str(self._folder() / name), f"{kind.upper()} (*.{kind})"
        )
        if not path:
            return
        try:
            written = self.window.diagram.export_png(path) if kind == "png" else self.window.diagram.export_svg(path)
        except OSError as error:
            QMessageBox.critical(self.window, "Cannot export", str(error))
            return
        self.session.message.emit(f"diagram written to {written}")

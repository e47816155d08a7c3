"""Python networks in the window: File > New from Python Model, and workspace trust.

The window asks before it first runs code from a folder, and remembers a yes for that folder (or
installed package), as an editor's workspace trust does: editing the file and reloading does not
ask again; a project whose code lives in a folder not yet trusted does. File > Trusted Code
Folders... lists the trusted folders and revokes them. Until the user says yes, nothing runs: the
project is open, its network is simply not built.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import NNStudioError
from app.network.inputs import DTYPES, InputSpec, parse_shape_text
from app.network.python_network import PythonNetwork
from app.network.usermodel import parse_model_kwargs
from app.project.network_module import project_folder

SETTINGS_KEY = "trust/codeLocations"


def trusted_locations() -> list[str]:
    value = QSettings().value(SETTINGS_KEY, [])
    if isinstance(value, str):  # QSettings gives back a lone string for a one-item list
        value = [value]
    return [str(item) for item in value or []]


def is_trusted(location: str) -> bool:
    return location in trusted_locations()


def trust(location: str) -> None:
    locations = trusted_locations()
    if location not in locations:
        QSettings().setValue(SETTINGS_KEY, [*locations, location])


def revoke(location: str) -> None:
    QSettings().setValue(SETTINGS_KEY, [item for item in trusted_locations() if item != location])


def what_runs(network: PythonNetwork, file: str | None) -> str:
    call = f"{network.name}({', '.join(f'{k}={v!r}' for k, v in network.kwargs.items())})"
    return f"{file}\n    {call}" if file is not None else f"{network.target}\n    {call}"


def ask_to_run(parent: QWidget | None, network: PythonNetwork, file: str | None, location: str) -> bool:
    """True when ``location`` is trusted, or the user trusts it now (and it is remembered)."""
    if is_trusted(location):
        return True
    answer = QMessageBox.question(
        parent,
        "Run this project's Python code?",
        "This project's network is Python code. Building it imports and runs:\n\n"
        f"    {what_runs(network, file)}\n\n"
        f"Trust the code in {location}? Only say yes to code you trust: it runs with your permissions. "
        "nnstudio remembers the answer for this folder (File > Trusted Code Folders... revokes it).",
        QMessageBox.Yes | QMessageBox.No,
        QMessageBox.No,
    )
    if answer != QMessageBox.Yes:
        return False
    trust(location)
    return True


class TrustedFoldersDialog(QDialog):
    """The trusted folders and packages, each revocable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Trusted code folders")
        self.list = QListWidget()
        self.revoke_button = QPushButton("Revoke", clicked=self.revoke_selected)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, rejected=self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("nnstudio runs the Python networks of projects in these folders without asking:"))
        layout.addWidget(self.list)
        layout.addWidget(self.revoke_button)
        layout.addWidget(buttons)
        self.resize(560, 300)
        self.refill()

    def refill(self) -> None:
        self.list.clear()
        self.list.addItems(trusted_locations())
        self.revoke_button.setEnabled(self.list.count() > 0)

    def revoke_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            revoke(item.text())
            self.refill()


class PythonModelDialog(QDialog):
    """FILE.py:NAME (or package.module:NAME) and its keyword arguments, for New from Python Model."""

    def __init__(self, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New from Python Model")
        self.folder = folder or Path.cwd()
        self.target_edit = QLineEdit(placeholderText="models/net.py:Net or torchvision.models:resnet18")
        self.kwargs_edit = QLineEdit(placeholderText='{"width": 64} (optional)')
        browse = QPushButton("Browse...", clicked=self.browse)
        row = QHBoxLayout()
        row.addWidget(self.target_edit, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Network", row)
        form.addRow("Keyword arguments", self.kwargs_edit)
        self.shape_edit = QLineEdit(placeholderText="2,3,32,32 (empty: guessed from the first layer)")
        self.dtype_combo = QComboBox()
        self.dtype_combo.addItems(list(DTYPES))
        form.addRow("Input shape", self.shape_edit)
        form.addRow("Input dtype", self.dtype_combo)
        self.keep_weights = QCheckBox("Keep the weights its code gives it (else the project's seeded init)")
        form.addRow("", self.keep_weights)
        note = QLabel(
            "NAME is an nn.Module class, a function returning one, or a module-level instance. "
            "Building it runs its code: you are asked to trust its folder first."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.Ok | QDialogButtonBox.Cancel, accepted=self.accept, rejected=self.reject
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(620, 220)

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A Python file", str(self.folder), "Python (*.py)")
        if path:
            name = self.target_edit.text().rpartition(":")[2] if ":" in self.target_edit.text() else "Net"
            self.target_edit.setText(f"{path}:{name}")

    def inputs(self) -> list[InputSpec] | None:
        """The input typed in (checked), or None to let the import guess it."""
        text = self.shape_edit.text().strip()
        if not text:
            return None
        return [InputSpec(parse_shape_text(text, "input shape"), self.dtype_combo.currentText())]

    def network(self) -> PythonNetwork:
        """What was typed, checked (never run): ModelLoadError / SpecError name the field at fault."""
        target = self.target_edit.text().strip()
        if (
            ":" in target
            and not Path(target.rpartition(":")[0]).is_absolute()
            and target.rpartition(":")[0].endswith(".py")
        ):
            target = f"{(self.folder / target.rpartition(':')[0]).resolve()}:{target.rpartition(':')[2]}"
        return PythonNetwork.from_json({"python": target, "kwargs": parse_model_kwargs(self.kwargs_edit.text())})


class PythonActions:
    """File > New from Python Model, Trust Project Code, Trusted Code Folders; and the question asked
    whenever a project whose network is code not yet trusted is opened."""

    def __init__(self, window: QMainWindow, maybe_save) -> None:
        self.window = window
        self.session = window.session
        self.maybe_save = maybe_save
        self.new_action = QAction("New from Python Model...", window, triggered=self.new_from_python)
        self.new_action.setStatusTip("A project whose network is your own nn.Module (runs its code, with your consent)")
        self.trust_action = QAction("Trust Project Code...", window, triggered=self.confirm_code)
        self.folders_action = QAction("Trusted Code Folders...", window, triggered=self.show_trusted_folders)
        self.session.projectReplaced.connect(self.confirm_code)
        self._follow()

    def _follow(self) -> None:
        waiting = self.session.python_network is not None and not self.session.project.code_allowed
        self.trust_action.setEnabled(waiting)

    def confirm_code(self) -> bool:
        """Ask to run the project's code unless its folder is trusted; True when it may run."""
        network = self.session.python_network
        if network is None or self.session.project.code_allowed:
            self._follow()
            return True
        location = self.session.code_location or network.target
        file = network.source_file(project_folder(self.session.project))
        if ask_to_run(self.window, network, str(file) if file is not None else None, location):
            self.session.allow_code()  # emits projectReplaced again: answered by the first branch
            return True
        self._follow()
        self.session.message.emit("the network's code was not run: File > Trust Project Code... asks again")
        return False

    def new_from_python(self) -> bool:
        """A new project from FILE.py:NAME: a spec when it is made of catalog layers, else a Python
        network project. Nothing runs before the user trusts the code's folder."""
        from app.interop.python_import import import_project

        dialog = PythonModelDialog(self.window, self.session.path.parent if self.session.path else None)
        if dialog.exec() != QDialog.Accepted:
            return False
        try:
            network, inputs = dialog.network(), dialog.inputs()
        except NNStudioError as error:
            QMessageBox.warning(self.window, "New from Python Model", str(error))
            return False
        location = network.code_location(None)
        file = network.source_file(None)
        if not ask_to_run(self.window, network, str(file) if file is not None else None, location):
            return False
        if not self.maybe_save("starting a new project"):
            return False
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            result = import_project(
                network.target, network.kwargs, with_weights=dialog.keep_weights.isChecked(), inputs=inputs
            )
        except Exception as error:  # the user's code may raise anything: nothing changes here
            QApplication.restoreOverrideCursor()
            QMessageBox.warning(
                self.window,
                "Cannot build the model",
                f"{type(error).__name__}: {error}" if not isinstance(error, NNStudioError) else str(error),
            )
            return False
        QApplication.restoreOverrideCursor()
        result.project.code_allowed = True  # asked above
        self.session.replace(result.project, None)
        if result.state_dict is not None:
            from app.training.prepare import make_model

            model = make_model(result.project)  # freeze and mode as the project says
            model.load_state_dict(result.state_dict)
            self.session.set_model(model, trained=True)
        kind = "a Python network" if isinstance(result.project.network, PythonNetwork) else "an editable spec"
        self.session.message.emit(f"new project from {network.target}: {kind}; set its input shape in the Summary tab")
        return True

    def show_trusted_folders(self) -> None:
        self.folders_dialog = TrustedFoldersDialog(self.window)
        self.folders_dialog.show()

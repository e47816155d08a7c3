"""File > Export (Python script, ONNX, weights) and File > Import (weights, a Python model).

Each action asks for a file, calls the core (:mod:`app.interop.script`, :mod:`app.interop.onnx_export`,
:mod:`app.project.weights`, :mod:`app.interop.weights_import`, :mod:`app.interop.python_import`), says what it wrote in
the status bar and shows any error in a message box; a failed import changes nothing. Weights
come from the session's model, so trained values are exported and imported values are what a
Save writes. The ONNX export takes seconds, so it runs off the GUI thread on copies.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox, QWidget

from app.atomic import write_all_atomic
from app.errors import NNStudioError
from app.interop import onnx_export
from app.interop.script import generate_script
from app.interop.weights_import import apply_weights, check_weights, read_weights_file
from app.project.weights import prepare_tensors, write_files, writer
from widgets.session import Session
from widgets.threads import FunctionThread

WEIGHTS_FILTER = "safetensors (*.safetensors);;All files (*)"


def describe(error: BaseException) -> str:
    """An error as the GUI shows it: the message and where, without the CLI's --flag names."""
    if isinstance(error, NNStudioError):
        return error.message if error.where.startswith("--") else str(error)
    return f"{type(error).__name__}: {error}"


class ExportActions(QObject):
    onnxFinished = Signal(object)  # the written Path, or the error shown (str)

    def __init__(self, session: Session, window: QWidget, maybe_save: Callable[[str], bool] | None = None) -> None:
        super().__init__(window)
        self.session = session
        self.window = window
        self.maybe_save = maybe_save or (lambda doing: True)
        self._onnx_job: FunctionThread | None = None
        self._onnx_path: Path | None = None
        self.script_action = QAction("Python script...", self, triggered=self.export_script)
        self.script_action.setStatusTip("A standalone PyTorch script that builds and trains the model")
        self.onnx_action = QAction("ONNX...", self, triggered=self.export_onnx)
        self.onnx_action.setStatusTip("The model in ONNX, for the project's input shapes")
        self.weights_action = QAction("Weights (safetensors)...", self, triggered=self.export_weights)
        self.weights_action.setStatusTip("The model's state_dict as it is now (trained values included)")
        self.import_weights_action = QAction("Weights into this project...", self, triggered=self.import_weights)

    def populate(self, menu: QMenu, before: QAction | None = None) -> None:
        """Add the Export and Import submenus to ``menu`` (before ``before``, e.g. Quit, if given)."""
        self.export_menu = QMenu("Export", menu)
        self.export_menu.addActions([self.script_action, self.onnx_action, self.weights_action])
        self.import_menu = QMenu("Import", menu)
        self.import_menu.addActions([self.import_weights_action])
        if before is None:
            menu.addMenu(self.export_menu)
            menu.addMenu(self.import_menu)
            return
        menu.insertMenu(before, self.export_menu)
        menu.insertMenu(before, self.import_menu)
        menu.insertSeparator(before)

    # Export ----------------------------------------------------------------------------------
    def export_script(self) -> bool:
        path = self._ask_save("Export the project as a Python script", ".py", "Python scripts (*.py)")
        if path is None:
            return False
        try:
            text = generate_script(self.session.project, path.name)
            write_all_atomic([(path, lambda temp: temp.write_text(text, encoding="utf-8"))])
        except (NNStudioError, OSError) as error:
            return self._fail("Cannot export the script", f"{path}\n\n{describe(error)}")
        self.session.message.emit(f"script written to {path} (run it with: python {path.name})")
        return True

    def export_weights(self) -> bool:
        model = self._model("Cannot export the weights")
        if model is None:
            return False
        path = self._ask_save("Export the weights", ".safetensors", WEIGHTS_FILTER)
        if path is None:
            return False
        try:
            state = model.state_dict()
            write_files([(path, writer(prepare_tensors(state)))])
        except (NNStudioError, OSError) as error:
            return self._fail("Cannot export the weights", f"{path}\n\n{describe(error)}")
        self.session.message.emit(f"weights written to {path} ({len(state)} tensors, the model's current values)")
        return True

    def export_onnx(self) -> bool:
        """Ask for a file and start the export in the background; ``onnxFinished`` says how it went."""
        if self._onnx_job is not None:
            self.session.message.emit("an ONNX export is running already")
            return False
        try:
            onnx_export.require_onnx()  # before asking for a file name
        except NNStudioError as error:
            return self._fail("Cannot export to ONNX", describe(error))
        model = self._model("Cannot export to ONNX")
        if model is None:
            return False
        path = self._ask_save("Export the model as ONNX", ".onnx", "ONNX models (*.onnx);;All files (*)")
        if path is None:
            return False
        # Copies: the export puts its model in eval mode, and the GUI may edit the originals meanwhile.
        project, model = copy.deepcopy(self.session.project), copy.deepcopy(model)
        self._onnx_path = path
        self._onnx_job = FunctionThread(lambda: onnx_export.export_onnx(project, path, model), self)
        self._onnx_job.finished.connect(self._onnx_done)
        self.onnx_action.setEnabled(False)
        QApplication.setOverrideCursor(Qt.BusyCursor)
        self.session.message.emit(f"exporting {path.name} to ONNX...")
        self._onnx_job.start()
        return True

    def wait(self) -> None:
        """Let a running ONNX export finish (before the window closes)."""
        if self._onnx_job is not None:
            self._onnx_job.wait()
            self._onnx_done()

    def _onnx_done(self) -> None:
        job, self._onnx_job = self._onnx_job, None
        if job is None:  # wait() got here first
            return
        job.wait()
        QApplication.restoreOverrideCursor()
        self.onnx_action.setEnabled(True)
        if job.error is not None:
            text = describe(job.error)
            QMessageBox.critical(self.window, "Cannot export to ONNX", f"{self._onnx_path}\n\n{text}")
            self.onnxFinished.emit(text)
            return
        self.session.message.emit(f"ONNX written to {job.result} (checked with onnx.checker)")
        self.onnxFinished.emit(job.result)

    # Import ----------------------------------------------------------------------------------
    def import_weights(self) -> bool:
        """Load a safetensors file into the session's model. A file that does not fit exactly is
        reported first, and only a yes loads the matching tensors; the model then becomes the
        session's, so Save writes its weights."""
        title = "Cannot load the weights"
        if self.session.busy_reason:
            return self._fail(title, f"The model cannot change now: {self.session.busy_reason}")
        current = self._model(title)
        if current is None:
            return False
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Load weights into this project", str(self._folder()), WEIGHTS_FILTER
        )
        if not path:
            return False
        path = Path(path)
        try:
            tensors = read_weights_file(path)
            model = copy.deepcopy(current)  # the session's model stays as it is until all went well
            report = check_weights(model, tensors)
        except NNStudioError as error:
            return self._fail(title, describe(error))
        partial = False
        if not report.clean:
            facts = "\n".join(f"- {line}" for line in report.lines())
            if not report.matched:
                return self._fail(title, f"{path.name} does not fit the network, so nothing was loaded:\n\n{facts}")
            answer = QMessageBox.question(
                self.window,
                "The weights do not fit",
                f"{path.name} does not fit the network exactly:\n\n{facts}\n\nLoad only the "
                f"{len(report.matched)} matching tensors? The others keep their current values.",
                QMessageBox.Yes | QMessageBox.No,
                QMessageBox.No,
            )
            if answer != QMessageBox.Yes:
                self.session.message.emit(f"nothing was loaded from {path.name}")
                return False
            partial = True
        try:
            report = apply_weights(model, tensors, partial, str(path))
        except NNStudioError as error:
            return self._fail(title, describe(error))
        self.session.set_model(model, trained=True)
        self.session.reanalyse()  # the views that show values look at the new model
        total = len(model.state_dict())
        self.session.message.emit(
            f"loaded {len(report.loaded)} of {total} tensors from {path.name} (Save writes them beside the project)"
        )
        return True

    # Helpers ---------------------------------------------------------------------------------
    def _model(self, title: str):
        model = self.session.model()
        if model is None:
            self._fail(title, str(self.session.build_error or "the network cannot be built"))
        return model

    def _fail(self, title: str, text: str) -> bool:
        QMessageBox.critical(self.window, title, text)
        return False

    def _folder(self) -> Path:
        return self.session.path.parent if self.session.path else Path.cwd()

    def _stem(self) -> str:
        if self.session.path is not None:
            return self.session.path.stem
        name = re.sub(r"[^\w.-]+", "_", self.session.project.name or "").strip("._")
        return name or "model"

    def _ask_save(self, title: str, suffix: str, filters: str) -> Path | None:
        start = str(self._folder() / f"{self._stem()}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self.window, title, start, filters)
        if not path:
            return None
        return Path(path) if path.endswith(suffix) else Path(path + suffix)

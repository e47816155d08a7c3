"""The training section as a form: dataset and its arguments, loss, epochs, batch size, split, seed.

Every change is one undoable ``SetSection("training", ...)``; a value the core refuses is shown
under the form and nothing changes. A project without a training section shows the defaults
and gets them written on its first edit (or on Start).
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.data.datasets import ARGUMENTS, USER_FILES, Arg, dataset_names
from app.errors import NNStudioError
from app.network.catalog import FAMILIES
from app.project.section_commands import SetSection

DEFAULT_TRAINING = {
    "dataset": {"name": "spirals"},
    "loss": {"type": "CrossEntropyLoss"},
    "epochs": 10,
    "batch_size": 32,
    "val_split": 0.2,
    "shuffle": True,
    "seed": 0,
}
INT_LIMIT = 2_000_000_000


class TrainingForm(QWidget):
    edited = Signal()  # the training section changed through this form

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._filling = False
        self.dataset_combo = QComboBox(objectName="datasetCombo")
        self.dataset_combo.addItems(dataset_names())
        self.dataset_combo.activated.connect(lambda _i: self._set_dataset(self.dataset_combo.currentText()))
        self.dataset_args = QFormLayout()
        self.dataset_args.setContentsMargins(12, 0, 0, 0)
        self.loss_combo = QComboBox(objectName="lossCombo")
        self.loss_combo.addItems(list(FAMILIES["loss"]))
        self.loss_combo.activated.connect(lambda _i: self._set("loss", {"type": self.loss_combo.currentText()}))
        self.epochs = self._spin("epochs", 1, 100_000)
        self.batch_size = self._spin("batch_size", 1, 1_000_000)
        self.seed = self._spin("seed", 0, INT_LIMIT)
        self.val_split = QDoubleSpinBox(objectName="val_split", minimum=0.0, maximum=0.9, singleStep=0.05, decimals=2)
        self.val_split.editingFinished.connect(lambda: self._set("val_split", round(self.val_split.value(), 4)))
        self.shuffle = QCheckBox("shuffle every epoch", objectName="shuffle")
        self.shuffle.toggled.connect(lambda on: self._set("shuffle", on))
        self.error = QLabel(objectName="trainingFormError", wordWrap=True)
        self.error.setProperty("role", "error")

        form = QFormLayout()
        form.addRow("Dataset", self.dataset_combo)
        form.addRow(self.dataset_args)
        form.addRow("Loss", self.loss_combo)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Validation", self.val_split)
        form.addRow("", self.shuffle)
        form.addRow("Seed", self.seed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.error)
        session.changed.connect(lambda _event: self.fill())
        session.projectReplaced.connect(self.fill)
        self.fill()

    # Reading the project ---------------------------------------------------------------------
    def training(self) -> dict:
        return copy.deepcopy(self.session.project.training or DEFAULT_TRAINING)

    def fill(self) -> None:
        self._filling = True
        try:
            training = self.training()
            dataset = training["dataset"]
            self.dataset_combo.setCurrentText(dataset.get("name", ""))
            self._dataset_fields(dataset)
            self.loss_combo.setCurrentText(training["loss"].get("type", ""))
            for spin in (self.epochs, self.batch_size, self.seed):
                spin.setValue(int(training.get(spin.objectName(), DEFAULT_TRAINING[spin.objectName()])))
            self.val_split.setValue(float(training.get("val_split", 0.2)))
            self.shuffle.setChecked(bool(training.get("shuffle", True)))
        finally:
            self._filling = False

    def _dataset_fields(self, dataset: dict) -> None:
        while self.dataset_args.rowCount():
            self.dataset_args.removeRow(0)
        for key, arg in ARGUMENTS.get(dataset.get("name"), {}).items():
            value = dataset.get(key, arg.default)
            self.dataset_args.addRow(key, self._field(key, arg, value))

    def _field(self, key: str, arg: Arg, value) -> QWidget:
        if arg.kind == "int":
            field = QSpinBox(minimum=int(arg.low or 0), maximum=int(min(arg.high or INT_LIMIT, INT_LIMIT)))
            field.setValue(int(value))
            field.editingFinished.connect(lambda: self._set_argument(key, field.value()))
        elif arg.kind == "float":
            field = QDoubleSpinBox(minimum=arg.low or 0.0, maximum=arg.high or 1e6, decimals=3, singleStep=0.05)
            field.setValue(float(value))
            field.editingFinished.connect(lambda: self._set_argument(key, round(field.value(), 6)))
        elif arg.kind == "choice":
            field = QComboBox()
            field.addItems(list(arg.choices))
            field.setCurrentText(str(value))
            field.activated.connect(lambda _i: self._set_argument(key, field.currentText()))
        else:  # text, columns
            field = QLineEdit(_text_of(value))
            field.editingFinished.connect(lambda: self._set_argument(key, _value_of(arg, field.text())))
            if key == "path":
                return self._with_browse(field, key)
        field.setObjectName(f"dataset.{key}")
        field.setToolTip(arg.help)
        return field

    def _with_browse(self, field: QLineEdit, key: str) -> QWidget:
        field.setObjectName(f"dataset.{key}")
        browse = QPushButton("Browse...")
        browse.clicked.connect(lambda: self._browse(field))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(field, 1)
        layout.addWidget(browse)
        return row

    def _browse(self, field: QLineEdit) -> None:
        name = self.dataset_combo.currentText()
        path, _ = QFileDialog.getOpenFileName(
            self, f"Open a {name.upper()} file", "", f"{name.upper()} (*.{name});;All files (*)"
        )
        if path:
            field.setText(path)
            self._set_argument("path", path)

    def _spin(self, key: str, low: int, high: int) -> QSpinBox:
        spin = QSpinBox(objectName=key, minimum=low, maximum=high)
        spin.setAlignment(Qt.AlignRight)
        spin.editingFinished.connect(lambda: self._set(key, spin.value()))
        return spin

    # Writing the project ---------------------------------------------------------------------
    def _set_dataset(self, name: str) -> None:
        current = self.training()["dataset"]
        if current.get("name") == name:
            return
        dataset = {"name": name}
        if name in USER_FILES:  # a file needs its path first: shown, written once it has one
            self._filling = True
            self._dataset_fields({"name": name})
            self._filling = False
            return
        self._set("dataset", dataset)

    def _set_argument(self, key: str, value) -> None:
        dataset = self.training()["dataset"]
        if dataset.get("name") != self.dataset_combo.currentText():
            dataset = {"name": self.dataset_combo.currentText()}
        if dataset.get(key) == value:
            return
        self._set("dataset", {**dataset, key: value})

    def _set(self, key: str, value) -> bool:
        if self._filling:
            return False
        training = self.training()
        if training.get(key) == value and self.session.project.training is not None:
            return False
        training[key] = value
        return self.write(training, f"training {key.replace('_', ' ')}")

    def write(self, training: dict, text: str = "training") -> bool:
        try:
            self.session.execute(SetSection("training", training, text))
        except NNStudioError as error:
            self.error.setText(f"{error.where}: {error.message}" if error.where else error.message)
            self.fill()
            return False
        self.error.clear()
        self.edited.emit()
        return True

    def ensure_section(self) -> bool:
        """Write the shown defaults if the project has no training section yet."""
        return self.session.project.training is not None or self.write(self.training(), "training defaults")


def _text_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _value_of(arg: Arg, text: str):
    text = text.strip()
    if arg.kind == "columns":
        return [part.strip() for part in text.split(",") if part.strip()] or None
    return text

"""Train / eval mode, per-module overrides, and the device: small controls over three sections.

Each gesture is one undoable ``SetSection`` ("mode" or "device"); the controls follow the session,
so undo, redo and Open show here at once. Device discovery is injectable (``devices=``) so that
a machine without a GPU can still show, and test, what a two-GPU machine would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from app.errors import NNStudioError
from app.project.section_commands import SetSection
from app.setup import devices as device_module
from app.setup.devices import DeviceInfo, Placement
from widgets.setup.fields import error_label, show_error

OVERRIDE_CHOICES = (("Inherit", None), ("Train", True), ("Eval", False))


class ModeToggle(QToolButton):
    """A checkable toolbar button: checked is Train (``model.train()``), unchecked is Eval."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setCheckable(True)
        self.setToolTip("The model's mode: Train (dropout on, BatchNorm updates its statistics) or Eval")
        self.toggled.connect(self._toggled)
        session.changed.connect(lambda _event: self.refresh())
        session.projectReplaced.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        training = self.session.mode_section()["training"]
        self.blockSignals(True)
        self.setChecked(training)
        self.blockSignals(False)
        self.setText("Train" if training else "Eval")

    def _toggled(self, checked: bool) -> None:
        mode = {**self.session.mode_section(), "training": checked}
        try:
            self.session.execute(SetSection("mode", mode, "train mode" if checked else "eval mode"))
        except NNStudioError as error:
            self.session.message.emit(str(error))
        self.refresh()


class ModeOverridesEditor(QWidget):
    """Inherit / Train / Eval for the selected module (``session.selected``)."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.path_label = QLabel()
        self.choice = QComboBox()
        for text, value in OVERRIDE_CHOICES:
            self.choice.addItem(text, value)
        self.choice.currentIndexChanged.connect(self._chosen)
        self.error = error_label()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.path_label)
        layout.addWidget(self.choice)
        layout.addWidget(self.error, 1)
        session.selectionChanged.connect(lambda _path: self.refresh())
        session.changed.connect(lambda _event: self.refresh())
        session.projectReplaced.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        path = self.session.selected
        self.path_label.setText(f"{path or '(root)'} mode:")
        value = self.session.mode_section()["overrides"].get(path)
        self.choice.blockSignals(True)
        self.choice.setCurrentIndex([v for _, v in OVERRIDE_CHOICES].index(value))
        self.choice.blockSignals(False)

    def _chosen(self, index: int) -> None:
        try:
            self.session.set_mode_override(self.session.selected, self.choice.itemData(index))
            show_error(self.error, None)
        except NNStudioError as error:
            show_error(self.error, error)
        self.refresh()


def describe(device: DeviceInfo) -> str:
    """``cuda:0 — NVIDIA H100 (80 GB)``."""
    memory = f" ({device.memory_bytes / 2**30:.0f} GB)" if device.memory_bytes else ""
    return f"{device.id} — {device.name}{memory}"


class DevicePicker(QWidget):
    """CPU and each GPU in a combo (a missing CUDA shows, greyed, with the reason), plus DataParallel."""

    def __init__(
        self,
        session,
        devices: Sequence[DeviceInfo] | Callable[[], Sequence[DeviceInfo]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        found = devices() if callable(devices) else devices
        self.devices = list(found if found is not None else device_module.discover())
        self.cuda = [d for d in self.devices if d.id.startswith("cuda:")]

        self.combo = QComboBox()
        for device in self.devices:
            self.combo.addItem(describe(device), device.id)
        if not self.cuda:
            reason = device_module.why_unavailable(Placement("cuda", 0)) or "no CUDA device was found"
            self.combo.addItem(f"CUDA — not available: {reason}", None)
            item = self.combo.model().item(self.combo.count() - 1)
            item.setFlags(item.flags() & ~(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable))
            item.setToolTip(reason)
        self.combo.currentIndexChanged.connect(self._chosen)

        self.dp_box = QGroupBox("DataParallel over")
        dp_layout = QVBoxLayout(self.dp_box)
        self.dp_checks: dict[int, QCheckBox] = {}
        for device in self.cuda:
            index = int(device.id.split(":")[1])
            check = QCheckBox(describe(device))
            check.toggled.connect(lambda _checked: self._dp_chosen())
            dp_layout.addWidget(check)
            self.dp_checks[index] = check
        self.dp_reason = QLabel(wordWrap=True)
        if not self.cuda:
            self.dp_reason.setText("DataParallel needs at least one CUDA device; there is none here")
            self.dp_box.setEnabled(False)
            dp_layout.addWidget(self.dp_reason)
        self.error = error_label()

        # compact enough for a toolbar: the DataParallel choice opens from a button
        self.dp_button = QToolButton(text="DataParallel", popupMode=QToolButton.InstantPopup)
        menu = QMenu(self.dp_button)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(self.dp_box)
        menu.addAction(holder)
        self.dp_button.setMenu(menu)
        self.dp_button.setToolTip(self.dp_reason.text() or "train on several GPUs with nn.DataParallel")
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.combo.setMaximumWidth(420)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.dp_button)
        layout.addWidget(self.error)
        session.changed.connect(lambda _event: self.refresh())
        session.projectReplaced.connect(self.refresh)
        self.refresh()

    def item_enabled(self, row: int) -> bool:
        return bool(self.combo.model().item(row).flags() & Qt.ItemFlag.ItemIsEnabled)

    def refresh(self) -> None:
        device = self.session.project.device or "cpu"
        dp_ids: set[int] = set()
        if device.startswith("dp:"):
            dp_ids = {int(i) for i in device[3:].split(",")}
            device = f"cuda:{min(dp_ids)}"
        elif device == "cuda":
            device = "cuda:0"
        self.combo.blockSignals(True)
        row = self.combo.findData(device)
        if row < 0:  # a file written on another machine: show it, marked, until the user picks another
            self.combo.addItem(f"{device} — not on this machine", device)
            row = self.combo.count() - 1
        self.combo.setCurrentIndex(row)
        self.combo.blockSignals(False)
        for index, check in self.dp_checks.items():
            check.blockSignals(True)
            check.setChecked(index in dp_ids)
            check.blockSignals(False)

    def _set(self, placement: str) -> bool:
        if placement == self.session.project.device:
            return False
        try:
            done = self.session.execute(SetSection("device", placement, f"{placement} device"))
        except NNStudioError as error:
            show_error(self.error, error)
            self.refresh()
            return False
        show_error(self.error, None)
        return done

    def _chosen(self, row: int) -> None:
        placement = self.combo.itemData(row)
        if placement is not None:
            self._set(placement)

    def _dp_chosen(self) -> None:
        ids = [index for index, check in sorted(self.dp_checks.items()) if check.isChecked()]
        self._set("dp:" + ",".join(map(str, ids)) if ids else self.combo.currentData() or "cpu")

"""Mode toggle, per-module overrides and the device picker (with a fake two-GPU discovery)."""

import pytest
import torch
from PySide6.QtCore import Qt

from app.errors import EditError
from app.setup.devices import DeviceInfo
from widgets.setup.mode_device import DevicePicker, ModeOverridesEditor, ModeToggle

TWO_GPUS = [
    DeviceInfo("cpu", "Test CPU (2 cores)", 8 * 2**30),
    DeviceInfo("cuda:0", "NVIDIA H100", 80 * 2**30),
    DeviceInfo("cuda:1", "NVIDIA H100", 80 * 2**30),
]


def test_mode_toggle_switches_the_project_and_the_real_model(qtbot, cnn_session):
    toggle = ModeToggle(cnn_session)
    qtbot.addWidget(toggle)
    assert toggle.isChecked() and toggle.text() == "Train"
    assert cnn_session.model().training
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert cnn_session.project.mode == {"training": False, "overrides": {}}
    assert toggle.text() == "Eval"
    model = cnn_session.model()
    assert not model.training and not any(m.training for m in model.modules())
    cnn_session.undo()
    assert toggle.isChecked() and cnn_session.model().training


def test_overrides_survive_the_toggle(qtbot, cnn_session):
    toggle = ModeToggle(cnn_session)
    qtbot.addWidget(toggle)
    assert cnn_session.set_mode_override("features.1", False)
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert cnn_session.project.mode == {"training": True, "overrides": {"features.1": False}}
    model = cnn_session.model()
    assert model.training and not model.features[1].training and model.features[0].training
    assert cnn_session.set_mode_override("features.1", None)
    assert cnn_session.project.mode["overrides"] == {}
    with pytest.raises(EditError, match="no module 'nowhere'"):
        cnn_session.set_mode_override("nowhere", True)


def test_overrides_editor_follows_the_selection(qtbot, cnn_session):
    editor = ModeOverridesEditor(cnn_session)
    qtbot.addWidget(editor)
    cnn_session.select("classifier")
    assert editor.choice.currentText() == "Inherit"
    editor.choice.setCurrentIndex(editor.choice.findText("Eval"))
    assert cnn_session.project.mode["overrides"] == {"classifier": False}
    assert not cnn_session.model().classifier.training
    cnn_session.select("features")
    assert editor.choice.currentText() == "Inherit"
    cnn_session.select("classifier")
    assert editor.choice.currentText() == "Eval"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_device_picker_without_cuda(qtbot, cnn_session):
    picker = DevicePicker(cnn_session)
    qtbot.addWidget(picker)
    assert picker.combo.itemData(0) == "cpu" and picker.item_enabled(0)
    last = picker.combo.count() - 1
    assert picker.combo.itemText(last).startswith("CUDA — not available: ")
    assert "torch.cuda.is_available() is False" in picker.combo.itemText(last)
    assert not picker.item_enabled(last)
    qtbot.keyClick(picker.combo, Qt.Key.Key_Down)  # the disabled entry cannot be chosen
    assert picker.combo.currentIndex() == 0
    assert not picker.dp_box.isEnabled()
    assert "at least one CUDA device" in picker.dp_reason.text()
    assert cnn_session.project.device == "cpu"


def test_device_picker_with_two_gpus(qtbot, cnn_session):
    picker = DevicePicker(cnn_session, devices=TWO_GPUS)
    qtbot.addWidget(picker)
    texts = [picker.combo.itemText(i) for i in range(picker.combo.count())]
    assert texts[1:] == ["cuda:0 — NVIDIA H100 (80 GB)", "cuda:1 — NVIDIA H100 (80 GB)"]
    assert all(picker.item_enabled(i) for i in range(picker.combo.count()))
    picker.combo.setCurrentIndex(2)
    assert cnn_session.project.device == "cuda:1"
    assert picker.dp_box.isEnabled() and sorted(picker.dp_checks) == [0, 1]
    qtbot.keyClick(picker.dp_checks[0], Qt.Key.Key_Space)
    assert cnn_session.project.device == "dp:0"
    qtbot.keyClick(picker.dp_checks[1], Qt.Key.Key_Space)
    assert cnn_session.project.device == "dp:0,1"
    cnn_session.undo()
    assert cnn_session.project.device == "dp:0"
    assert picker.dp_checks[0].isChecked() and not picker.dp_checks[1].isChecked()
    qtbot.keyClick(picker.dp_checks[0], Qt.Key.Key_Space)
    assert cnn_session.project.device == "cuda:0"

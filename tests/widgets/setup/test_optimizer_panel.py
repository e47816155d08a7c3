"""The optimizer panel, driven as a user: typing into fields, Enter, choosing from combos."""

import torch
from PySide6.QtCore import Qt

from app.training.prepare import make_model
from tests.widgets.keyboard import type_into
from widgets.setup.fields import parse_args, selector_json, selector_text
from widgets.setup.optimizer_panel import OptimizerPanel


def _panel(qtbot, session):
    panel = OptimizerPanel(session)
    qtbot.addWidget(panel)
    return panel


def test_preview_is_torchs_own_text_for_the_seed_note_groups(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    model = make_model(seed_groups_session.project)
    expected = torch.optim.SGD(
        [{"params": model.features.parameters()}, {"params": model.classifier.parameters(), "lr": 0.01}], lr=1e-05
    )
    assert panel.preview.toPlainText() == repr(expected)
    groups = panel.assignment_tree
    assert groups.topLevelItem(1).text(0) == "classifier: 6 parameter(s)"
    assert groups.topLevelItem(0).child(0).text(0) == "features.0.weight"
    assert panel.warnings_label.text() == ""


def test_group_lr_edit_is_one_undoable_command(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    lr = panel.group_field(1, "lr")
    assert lr.text() == "0.01"
    type_into(qtbot, lr, "0.1")
    assert seed_groups_session.project.optimizer["groups"][1] == {"select": "classifier", "lr": 0.1}
    assert "lr: 0.1\n" in panel.preview.toPlainText()
    seed_groups_session.undo()
    assert seed_groups_session.project.optimizer["groups"][1] == {"select": "classifier", "lr": 0.01}
    assert panel.group_field(1, "lr").text() == "0.01"
    assert "lr: 0.1\n" not in panel.preview.toPlainText()


def test_negative_lr_is_refused_with_the_reason_beside_the_field(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    before = seed_groups_session.snapshot()
    type_into(qtbot, panel.default_fields["lr"], "-0.5")
    assert "must not be negative" in panel.default_errors["lr"].text()
    assert panel.default_errors["lr"].isVisibleTo(panel)
    type_into(qtbot, panel.group_field(0, "lr"), "-1e-3")
    assert "optimizer.groups[0].lr" in panel.groups_error.text()
    assert seed_groups_session.snapshot() == before
    assert not seed_groups_session.document.undo_stack.can_undo


def test_scientific_notation_default_lr(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    assert panel.default_fields["lr"].text() == "1e-05"
    type_into(qtbot, panel.default_fields["lr"], "3e-4")
    assert seed_groups_session.project.optimizer["defaults"]["lr"] == 3e-4
    assert "lr: 0.0003\n" in panel.preview.toPlainText()
    assert not panel.default_errors["lr"].isVisibleTo(panel)


def test_switching_to_adam_shows_betas_and_keeps_the_groups(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    assert "betas" not in panel.default_fields
    panel.type_combo.setCurrentText("Adam")
    assert seed_groups_session.project.optimizer["type"] == "Adam"
    assert panel.default_fields["betas"].placeholderText() == "0.9, 0.999"
    assert "betas: (0.9, 0.999)" in panel.preview.toPlainText()
    assert panel.preview.toPlainText().startswith("Adam (")
    type_into(qtbot, panel.default_fields["betas"], "0.8, 0.99")
    assert seed_groups_session.project.optimizer["defaults"]["betas"] == [0.8, 0.99]
    assert "betas: (0.8, 0.99)" in panel.preview.toPlainText()
    checkbox = panel.default_fields["amsgrad"]
    qtbot.keyClick(checkbox, Qt.Key.Key_Space)
    assert seed_groups_session.project.optimizer["defaults"]["amsgrad"] is True
    seed_groups_session.undo(), seed_groups_session.undo(), seed_groups_session.undo()
    assert seed_groups_session.project.optimizer["type"] == "SGD"
    assert panel.type_combo.currentText() == "SGD"


def test_selector_matching_nothing_is_warned_and_unknown_type_refused(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert panel.groups_table.rowCount() == 3
    type_into(qtbot, panel.group_field(2, "select"), "type:normalization")
    assert seed_groups_session.project.optimizer["groups"][2] == {"select": {"types": ["normalization"]}}
    assert "matches no trainable parameter" in panel.warnings_label.text()
    before = seed_groups_session.snapshot()
    type_into(qtbot, panel.group_field(2, "select"), "type:Nonsense")
    assert "neither a layer type nor a family" in panel.groups_error.text()
    assert seed_groups_session.snapshot() == before


def test_move_and_remove_groups(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    panel.group_field(1, "select").setFocus()
    panel.groups_table.setCurrentCell(1, 0)
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    assert [g["select"] for g in seed_groups_session.project.optimizer["groups"]] == ["classifier", "features"]
    panel.groups_table.setCurrentCell(0, 0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert seed_groups_session.project.optimizer["groups"] == [{"select": "features"}]
    assert panel.groups_table.rowCount() == 1


def test_scheduler_row(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    panel.scheduler_combo.setCurrentText("StepLR")
    assert "needs 'step_size'" in panel.scheduler_error.text()
    assert seed_groups_session.project.scheduler is None
    type_into(qtbot, panel.scheduler_args, "step_size=5, gamma=0.5")
    assert seed_groups_session.project.scheduler == {"type": "StepLR", "args": {"step_size": 5, "gamma": 0.5}}
    panel.scheduler_combo.setCurrentText("none")
    assert seed_groups_session.project.scheduler is None


def test_text_forms():
    assert selector_json("features") == "features"
    assert selector_json("type:BatchNorm2d") == {"types": ["BatchNorm2d"]}
    assert selector_json("*.bias & type:Linear") == {"paths": ["*.bias"], "types": ["Linear"]}
    assert selector_text({"paths": ["*.bias"], "types": ["Linear"]}) == "*.bias & type:Linear"
    assert parse_args("a=1, b=2.5, c=relu, d=true") == {"a": 1, "b": 2.5, "c": "relu", "d": True}

"""The init panel: rules typed by the user, Re-initialise, and the refusals that name a parameter."""

import math

import torch
from PySide6.QtCore import Qt

from tests.widgets.keyboard import type_into
from widgets.setup.init_panel import InitPanel


def _panel(qtbot, session):
    panel = InitPanel(session)
    qtbot.addWidget(panel)
    return panel


def _add_rule(qtbot, panel, select, scheme, args=""):
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    row = panel.rules_table.rowCount() - 1
    type_into(qtbot, panel.rule_field(row, "select"), select)
    panel.rule_field(row, "scheme").setCurrentText(scheme)
    if args:
        type_into(qtbot, panel.rule_field(row, "args"), args)
    return row


def test_kaiming_rule_and_reinitialise_show_both_histograms(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    old = cnn_session.model().classifier[1].weight.detach().clone()
    _add_rule(qtbot, panel, "*.weight", "kaiming_normal", "nonlinearity=relu")
    assert cnn_session.project.init["rules"] == [
        {"select": "*.weight", "scheme": "kaiming_normal", "args": {"nonlinearity": "relu"}}
    ]
    panel.parameter_combo.setCurrentText("classifier.1.weight")
    qtbot.mouseClick(panel.reinit_button, Qt.MouseButton.LeftButton)
    model = cnn_session.model()
    weight = model.classifier[1].weight.detach()
    fan_in = weight.shape[1]
    assert math.isclose(float(weight.std()), math.sqrt(2 / fan_in), rel_tol=0.03)
    assert not torch.equal(weight, old)
    before_x, before_y = panel.before_curve.getData()
    after_x, after_y = panel.after_curve.getData()
    assert before_y.sum() == after_y.sum() == weight.numel()
    # the default init (kaiming_uniform, a=sqrt(5)) is bounded by 1/sqrt(fan_in); kaiming_normal is not
    assert before_x.max() <= 1 / math.sqrt(fan_in) + 1e-6 < after_x.max()


def test_orthogonal_on_bias_names_the_parameter_and_changes_nothing(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    _add_rule(qtbot, panel, "*.bias", "default")
    model = cnn_session.model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    project = cnn_session.snapshot()
    panel.rule_field(0, "scheme").setCurrentText("orthogonal")
    assert "features.0.bias" in panel.rules_error.text()
    assert "orthogonal" in panel.rules_error.text()
    assert cnn_session.snapshot() == project
    assert cnn_session.model() is model
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_first_matching_rule_wins_and_reorder(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    _add_rule(qtbot, panel, "*.bias", "zeros")
    _add_rule(qtbot, panel, "classifier", "ones")
    qtbot.mouseClick(panel.reinit_button, Qt.MouseButton.LeftButton)
    assert float(cnn_session.model().classifier[1].bias.detach().abs().sum()) == 0.0
    panel.rules_table.setCurrentCell(1, 0)
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    assert [r["scheme"] for r in cnn_session.project.init["rules"]] == ["ones", "zeros"]
    qtbot.mouseClick(panel.reinit_button, Qt.MouseButton.LeftButton)
    assert bool((cnn_session.model().classifier[1].bias == 1).all())
    assert float(cnn_session.model().features[0].bias.detach().abs().sum()) == 0.0


def test_seed_none_and_bad_args(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    type_into(qtbot, panel.seed_edit, "none")
    assert cnn_session.project.init["seed"] is None
    type_into(qtbot, panel.seed_edit, "42")
    assert cnn_session.project.init["seed"] == 42
    _add_rule(qtbot, panel, "*.weight", "normal")
    type_into(qtbot, panel.rule_field(0, "args"), "sigma=2")
    assert "takes no argument 'sigma'" in panel.rules_error.text()
    assert cnn_session.project.init["rules"] == [{"select": "*.weight", "scheme": "normal"}]

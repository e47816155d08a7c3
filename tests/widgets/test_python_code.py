"""Python networks in the window: consent asked before any code runs and remembered per folder,
New from Python Model, and everything the workbench shows and trains working on the user's module."""

from __future__ import annotations

import shutil
import textwrap

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from app.errors import EditError
from app.network.python_network import PythonNetwork
from app.network.spec import layer
from app.project.network_commands import AddNode
from app.project.project_file import load_project
from app.training.events import Finished
from tests.cli.conftest import EXAMPLES
from widgets import python_code
from widgets.main_window import MainWindow
from widgets.python_code import PythonModelDialog, TrustedFoldersDialog, trusted_locations
from widgets.session import Session

RUN_TIMEOUT_MS = 120_000


def tutorial_in(folder):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / "custom_module.py", folder)
    shutil.copy(EXAMPLES / "custom_module.nnproj", folder)
    return folder / "custom_module.nnproj"


def answers(monkeypatch, *replies):
    """QMessageBox.question answers ``replies`` in turn; returns the texts it was asked."""
    asked: list[str] = []
    queue = list(replies)

    def question(parent, title, text, *args, **kwargs):
        asked.append(f"{title}\n{text}")
        return queue.pop(0) if queue else QMessageBox.No

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


@pytest.fixture
def window(qtbot):
    def make(session: Session) -> MainWindow:
        win = MainWindow(session, persist_layout=False)
        qtbot.addWidget(win)
        win.show()
        return win

    return make


def open_window(window, path) -> MainWindow:
    return window(Session(load_project(path), path))


def test_opening_a_python_project_asks_first_and_runs_nothing_on_no(window, tmp_path, monkeypatch):
    path = tutorial_in(tmp_path / "code")
    asked = answers(monkeypatch, QMessageBox.No)
    win = open_window(window, path)
    assert len(asked) == 1
    assert str(tmp_path / "code" / "custom_module.py") in asked[0] and "SmallCNN(classes=10, width=12)" in asked[0]
    assert win.session.analysis is None and win.session.network.children == []  # nothing was built
    assert win.files.python.trust_action.isEnabled()
    assert trusted_locations() == []

    answers(monkeypatch, QMessageBox.Yes)
    win.files.python.trust_action.trigger()
    assert win.session.analysis is not None and win.session.analysis.error is None
    assert [c.type for c in win.session.network.children] == ["Sequential", "Sequential", "AdaptiveAvgPool2d", "Linear"]
    assert trusted_locations() == [str(tmp_path / "code")]
    assert not win.files.python.trust_action.isEnabled()


def test_a_trusted_folder_is_not_asked_again_another_folder_is_and_revoking_asks_again(
    window, tmp_path, monkeypatch, qtbot
):
    first, second = tutorial_in(tmp_path / "a"), tutorial_in(tmp_path / "b")
    asked = answers(monkeypatch, QMessageBox.Yes)
    win = open_window(window, first)
    assert len(asked) == 1
    win.session.document.mark_saved()
    win.files.open(first)  # reopening (after editing the file, say) does not ask
    assert len(asked) == 1 and win.session.analysis is not None
    asked = answers(monkeypatch, QMessageBox.Yes)
    win.files.open(second)
    assert len(asked) == 1 and str(tmp_path / "b") in asked[0]

    dialog = TrustedFoldersDialog(win)
    qtbot.addWidget(dialog)
    assert [dialog.list.item(i).text() for i in range(dialog.list.count())] == [
        str(tmp_path / "a"),
        str(tmp_path / "b"),
    ]
    dialog.list.setCurrentRow(0)
    qtbot.mouseClick(dialog.revoke_button, Qt.LeftButton)
    assert trusted_locations() == [str(tmp_path / "b")]
    asked = answers(monkeypatch, QMessageBox.No)
    win.files.open(first)
    assert len(asked) == 1 and win.session.analysis is None


def test_the_views_show_the_users_module_and_spec_edits_are_refused(window, tmp_path, monkeypatch):
    answers(monkeypatch, QMessageBox.Yes)
    win = open_window(window, tutorial_in(tmp_path / "code"))
    session = win.session
    rows = {row.path: row for row in session.analysis.rows}
    assert rows["stem.1"].type == "ScaledChannels" and rows["stem.1"].params == 24
    model = session.model()
    assert {"stem.1.scale", "stem.1.shift"} <= {name for name, _ in model.named_parameters()}
    assert "stem.1.running_mean" in dict(model.named_buffers())
    session.select("stem.1")
    win.internals.refresh()
    assert set(win.internals.entries("_parameters")) == {"scale", "shift"}
    assert set(win.internals.entries("_buffers")) == {"running_mean"}
    with pytest.raises(EditError, match="Python code"):
        session.execute(AddNode((), None, layer("ReLU")))
    assert session.set_mode_override("stem.1", False)  # the sections work on the module's paths
    assert session.project.mode["overrides"] == {"stem.1": False}


def test_training_a_python_network_in_the_window_with_two_groups_and_probes(window, tmp_path, monkeypatch, qtbot):
    answers(monkeypatch, QMessageBox.Yes)
    path = tutorial_in(tmp_path / "code")
    project = load_project(path)
    project.training = {**project.training, "epochs": 1, "dataset": {**project.training["dataset"], "size": 320}}
    project.probes = {**project.probes, "every": 2}  # 8 steps: 4 snapshots
    win = window(Session(project, path))
    controller = win.training.controller
    with qtbot.waitSignal(controller.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        assert win.training.panel.start()
    assert isinstance(ended.args[0], Finished)
    assert set(win.training.activations.cards()) == {"stem.1", "block.1", "classifier"}
    assert len(win.training.plots.legend_names("lr")) == 2  # both parameter groups
    scale = win.session.model().get_parameter("stem.1.scale")
    assert not torch.equal(scale, torch.ones_like(scale))  # the user's own Parameter trained
    assert win.session.weights_unsaved


NETS = """
    from torch import nn

    def make():
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        nn.init.constant_(model[0].weight, 0.25)
        return model

    class Twice(nn.Module):
        def forward(self, x):
            return 2 * x

    def custom():
        return nn.Sequential(nn.Linear(4, 4), Twice())

    def broken():
        raise RuntimeError("no such dataset on this machine")
"""


def fill_dialog(monkeypatch, target: str, kwargs: str = "", keep: bool = False, shape: str = ""):
    def run(dialog: PythonModelDialog) -> int:
        dialog.target_edit.setText(target)
        dialog.kwargs_edit.setText(kwargs)
        dialog.shape_edit.setText(shape)
        dialog.keep_weights.setChecked(keep)
        return QDialog.Accepted

    monkeypatch.setattr(PythonModelDialog, "exec", run)


@pytest.fixture
def nets(tmp_path):
    path = tmp_path / "nets" / "user_net.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(NETS))
    return path


def test_new_from_python_model_makes_a_spec_when_it_can_and_asks_before_running(window, nets, monkeypatch):
    win = window(Session())
    fill_dialog(monkeypatch, f"{nets}:make", keep=True)
    asked = answers(monkeypatch, QMessageBox.Yes)
    assert win.files.python.new_action.text() == "New from Python Model..."
    win.files.python.new_action.trigger()
    assert len(asked) == 1 and str(nets) in asked[0] and "make()" in asked[0]
    assert [c.type for c in win.session.network.children] == ["Linear", "ReLU", "Linear"]
    assert win.session.python_network is None  # editable: every part is a catalog layer
    assert torch.all(win.session.model()[0].weight == 0.25) and win.session.weights_unsaved


def test_new_from_python_model_of_a_custom_module_is_a_python_network_project(window, nets, monkeypatch):
    win = window(Session())
    fill_dialog(monkeypatch, f"{nets}:custom", shape="5,4")
    answers(monkeypatch, QMessageBox.Yes)
    win.files.python.new_action.trigger()
    assert win.session.python_network == PythonNetwork(f"{nets}:custom")
    assert win.session.project.inputs[0].shape == [5, 4]
    assert win.session.analysis.rows[-1].output_shape == [5, 4]
    assert [c.type for c in win.session.network.children] == ["Linear", "Twice"]
    assert win.session.analysis is not None and win.session.analysis.error is None


def test_declining_or_a_constructor_that_raises_changes_nothing(window, nets, monkeypatch):
    win = window(Session())
    before = win.session.project.to_json()
    fill_dialog(monkeypatch, f"{nets}:make")
    answers(monkeypatch, QMessageBox.No)
    assert not win.files.python.new_from_python()
    assert not (nets.parent / "__pycache__").exists()  # not even imported
    fill_dialog(monkeypatch, f"{nets}:broken")
    answers(monkeypatch, QMessageBox.Yes)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append(text))
    assert not win.files.python.new_from_python()
    assert len(shown) == 1 and "no such dataset on this machine" in shown[0]
    assert win.session.project.to_json() == before


def test_the_trust_store_lives_in_the_settings(tmp_path):
    python_code.trust(str(tmp_path))
    python_code.trust(str(tmp_path))
    assert python_code.trusted_locations() == [str(tmp_path)]
    python_code.revoke(str(tmp_path))
    assert python_code.trusted_locations() == []

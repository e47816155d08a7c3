"""The main window as a user meets it: files, title, undo, closing, settings."""

import json
import shutil

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.network.report import format_bytes
from app.project.network_commands import RenameNode, SetArgument
from app.project.project_file import load_project
from tests.cli.conftest import EXAMPLES
from widgets.main_window import MainWindow
from widgets.session import Session


@pytest.fixture
def window(qtbot, tmp_path):
    path = tmp_path / "cnn.nnproj"
    shutil.copy(EXAMPLES / "cnn.nnproj", path)
    win = MainWindow(Session(load_project(path), path))
    qtbot.addWidget(win)
    win.show()
    return win


def test_title_shows_the_file_and_a_star_while_unsaved(window):
    assert window.windowTitle() == "cnn.nnproj - nnstudio"
    window.session.execute(RenameNode((0,), "body"))
    assert window.windowTitle() == "cnn.nnproj * - nnstudio"
    window.undo_action.trigger()
    assert window.windowTitle() == "cnn.nnproj - nnstudio"


def test_ctrl_z_and_ctrl_shift_z_undo_and_redo_through_the_core_stack(window, qtbot):
    start = window.session.network.to_json()
    window.session.execute(SetArgument((1, 1), "out_features", 99))
    window.session.execute(RenameNode((1,), "head"))
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.session.network.to_json() == start
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.session.network.children[1].children[1].args["out_features"] == 99
    assert window.undo_action.text().startswith("Undo")


def test_save_then_reopen_gives_the_same_project(window, tmp_path, monkeypatch):
    window.session.execute(SetArgument((1, 1), "out_features", 64))
    window.session.execute(SetArgument((1, 3), "in_features", 64))
    target = tmp_path / "saved.nnproj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.files.save_as()
    assert window.windowTitle() == "saved.nnproj - nnstudio"
    saved = window.session.project.to_json()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    window.files.new_action.trigger()
    assert window.session.path is None
    window.files.open_action.trigger()
    assert window.session.project.to_json() == saved
    assert str(target.resolve()) == window.files.recent()[0]


def test_opening_a_broken_file_shows_the_error_and_changes_nothing(window, tmp_path, monkeypatch):
    broken = tmp_path / "broken.nnproj"
    data = json.loads((EXAMPLES / "cnn.nnproj").read_text())
    data["network"]["children"][1]["children"][1]["args"]["out_features"] = -3
    broken.write_text(json.dumps(data))
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    before = (window.session.path, window.session.project.to_json())
    assert not window.files.open(broken)
    assert "network.children[1].children[1].args.out_features: must be a positive integer, got -3" in shown[0]
    assert (window.session.path, window.session.project.to_json()) == before


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_window(window, monkeypatch):
    window.session.execute(RenameNode((0,), "body"))
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[2])
        return QMessageBox.Cancel

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert not window.close()
    assert asked and "Save the changes" in asked[0]
    assert window.isVisible()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert window.close()


def test_window_layout_and_recent_files_persist_in_settings(window, qtbot, tmp_path):
    window.files.open(EXAMPLES / "gru.nnproj")
    window.close()
    assert QSettings().value("window/state") is not None
    again = MainWindow(Session())
    qtbot.addWidget(again)
    assert str((EXAMPLES / "gru.nnproj").resolve()) in again.files.recent()
    assert again.files.recent_menu.actions()[0].text().endswith("gru.nnproj")


def test_problems_list_and_status_follow_the_analysis(window):
    assert window.problems.count() == 0
    total = window.session.estimate.memory.total
    assert window.status.text().endswith(f"; training needs {format_bytes(total)}")
    window.session.execute(SetArgument((1, 1), "in_features", 500))
    window.session.reanalyse()
    assert window.problems.count() == 1
    assert "classifier.1 (Linear): input (8, 400) but in_features=500" in window.problems.item(0).text()
    assert "parameters" in window.status.text()
    assert "training needs" not in window.status.text()  # no forward, no activations to count


def test_open_example_menu_lists_every_example(window):
    names = [action.text() for action in window.files.examples_menu.actions()]
    assert names == sorted(path.stem for path in EXAMPLES.glob("*.nnproj"))

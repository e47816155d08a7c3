"""File > Export and File > Import as a user meets them: menus, file dialogs, message boxes."""

import shutil
import sys

import pytest
import torch
from PySide6.QtWidgets import QFileDialog, QMessageBox
from safetensors.torch import load_file, save_file

from app.project.project_file import load_project
from tests.cli.conftest import EXAMPLES
from widgets.main_window import MainWindow
from widgets.session import Session


@pytest.fixture
def window(qtbot, tmp_path):
    path = tmp_path / "cnn.nnproj"
    shutil.copy(EXAMPLES / "cnn.nnproj", path)
    win = MainWindow(Session(load_project(path), path), persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    return win


def menu_action(window, submenu: str, text: str):
    """The action ``File > submenu > text``, as a user would find it."""
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    sub = next(a.menu() for a in file_menu.actions() if a.menu() is not None and a.text() == submenu)
    return next(a for a in sub.actions() if a.text() == text)


def save_to(monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def open_from(monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))


def answer(monkeypatch, reply):
    """QMessageBox.question answers ``reply``; returns the texts it was asked."""
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(f"{title}\n{text}")
        return reply

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def errors(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: shown.append(f"{title}\n{text}"))
    return shown


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def trained(window) -> dict:
    """Give the session a model whose values differ from the project's (as training would)."""
    model = window.session.model()
    with torch.no_grad():
        for index, parameter in enumerate(model.parameters()):
            parameter.fill_(0.01 * (index + 1))
    window.session.set_model(model, trained=True)
    return {k: v.clone() for k, v in model.state_dict().items()}


# Export ----------------------------------------------------------------------------------------
def test_the_file_menu_has_export_and_import_submenus_before_quit(window):
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    texts = [a.text() for a in file_menu.actions()]
    assert texts.index("Export") < texts.index("Import") < texts.index("Quit")
    assert texts.index("Export Diagram as SVG...") < texts.index("Export")
    assert menu_action(window, "Export", "ONNX...") is window.exports.onnx_action
    assert menu_action(window, "Import", "Weights into this project...") is window.exports.import_weights_action


def test_export_python_script_writes_the_script_the_code_tab_shows(window, tmp_path, monkeypatch, qtbot):
    target = tmp_path / "out" / "net"
    target.parent.mkdir()
    save_to(monkeypatch, target)
    with qtbot.waitSignal(window.session.message) as said:
        menu_action(window, "Export", "Python script...").trigger()
    written = tmp_path / "out" / "net.py"
    text = written.read_text(encoding="utf-8")
    assert "nn.Sequential" in text and "import app" not in text
    assert "python net.py" in said.args[0]
    compile(text, str(written), "exec")
    window.tabs.setCurrentWidget(window.code)
    assert window.code.editor.toPlainText() == text.replace("net.py", "cnn.py")


def test_the_code_tabs_save_button_is_export_python_script(window, tmp_path, monkeypatch):
    save_to(monkeypatch, tmp_path / "from_tab.py")
    window.tabs.setCurrentWidget(window.code)
    window.code.save_button.click()
    assert "nn.Sequential" in (tmp_path / "from_tab.py").read_text(encoding="utf-8")


def test_export_weights_writes_the_sessions_current_trained_values(window, tmp_path, monkeypatch):
    values = trained(window)
    save_to(monkeypatch, tmp_path / "w.safetensors")
    menu_action(window, "Export", "Weights (safetensors)...").trigger()
    written = load_file(str(tmp_path / "w.safetensors"))
    assert state_equal(written, window.session.model().state_dict())
    assert state_equal(written, values)


def test_cancelling_the_file_dialog_writes_nothing(window, tmp_path, no_modal_dialogs):
    menu_action(window, "Export", "Weights (safetensors)...").trigger()  # the dialog answers ""
    menu_action(window, "Export", "Python script...").trigger()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["cnn.nnproj"]
    assert not any(text.startswith("Cannot") for text in no_modal_dialogs)


def test_export_onnx_runs_in_the_background_and_passes_the_checker(window, tmp_path, monkeypatch, qtbot):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    shown = errors(monkeypatch)
    save_to(monkeypatch, tmp_path / "cnn.onnx")
    with qtbot.waitSignal(window.exports.onnxFinished, timeout=180_000) as done:
        menu_action(window, "Export", "ONNX...").trigger()
        assert not window.exports.onnx_action.isEnabled()  # one export at a time
    assert shown == []
    assert done.args[0] == tmp_path / "cnn.onnx"
    onnx.checker.check_model(str(tmp_path / "cnn.onnx"))
    assert window.exports.onnx_action.isEnabled()
    assert "checked with onnx.checker" in window.statusBar().currentMessage()


def test_export_onnx_without_the_extra_names_the_install_command_and_asks_for_no_file(window, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` fails as if it were not installed
    asked: list = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a) or ("", ""))
    shown = errors(monkeypatch)
    menu_action(window, "Export", "ONNX...").trigger()
    assert len(shown) == 1
    assert 'pip install "nnstudio[onnx]"' in shown[0]
    assert asked == []


def test_an_onnx_export_that_fails_shows_why_and_writes_nothing(window, tmp_path, monkeypatch, qtbot):
    import app.interop.onnx_export as onnx_export
    from app.errors import NNStudioError

    def failing(project, path, model=None):
        raise NNStudioError("torch.onnx.export failed: an operator ONNX lacks", "--onnx")

    monkeypatch.setattr(onnx_export, "require_onnx", lambda where="--onnx": None)
    monkeypatch.setattr(onnx_export, "export_onnx", failing)
    shown = errors(monkeypatch)
    save_to(monkeypatch, tmp_path / "bad.onnx")
    with qtbot.waitSignal(window.exports.onnxFinished, timeout=10_000):
        menu_action(window, "Export", "ONNX...").trigger()
    assert len(shown) == 1 and "an operator ONNX lacks" in shown[0] and "--onnx" not in shown[0]
    assert not (tmp_path / "bad.onnx").exists()
    assert window.exports.onnx_action.isEnabled()


# Import weights --------------------------------------------------------------------------------
@pytest.fixture
def misfit(window, tmp_path):
    """A weights file that half fits the CNN: one tensor missing, one of the wrong shape, one extra."""
    state = {k: torch.full_like(v, 0.5) for k, v in window.session.model().state_dict().items()}
    del state["features.0.bias"]
    state["classifier.5.weight"] = torch.zeros(3, 84)
    state["extra.weight"] = torch.zeros(2)
    path = tmp_path / "other.safetensors"
    save_file(state, str(path))
    return path


def test_import_weights_that_fit_replaces_the_models_values_and_save_writes_them(window, tmp_path, monkeypatch):
    state = {k: torch.full_like(v, 0.25) for k, v in window.session.model().state_dict().items()}
    save_file(state, str(tmp_path / "fits.safetensors"))
    open_from(monkeypatch, tmp_path / "fits.safetensors")
    asked = answer(monkeypatch, QMessageBox.No)
    menu_action(window, "Import", "Weights into this project...").trigger()
    assert asked == []  # a clean file loads without a question
    assert state_equal(window.session.model().state_dict(), state)
    assert window.windowTitle() == "cnn.nnproj * - nnstudio"
    assert window.files.save()
    saved = load_project(tmp_path / "cnn.nnproj")
    assert saved.weights is not None
    assert state_equal(load_file(str(tmp_path / saved.weights)), state)


def test_import_weights_that_do_not_fit_names_the_keys_and_no_loads_nothing(window, misfit, monkeypatch):
    before = window.session.model()
    values = {k: v.clone() for k, v in before.state_dict().items()}
    open_from(monkeypatch, misfit)
    asked = answer(monkeypatch, QMessageBox.No)
    shown = errors(monkeypatch)
    menu_action(window, "Import", "Weights into this project...").trigger()
    assert len(asked) == 1
    assert "features.0.bias" in asked[0] and "classifier.5.weight" in asked[0] and "extra.weight" in asked[0]
    assert shown == []
    assert window.session.model() is before
    assert state_equal(before.state_dict(), values)
    assert not window.session.is_dirty


def test_import_weights_that_do_not_fit_loads_only_the_matching_tensors_on_yes(window, misfit, monkeypatch):
    before = {k: v.clone() for k, v in window.session.model().state_dict().items()}
    open_from(monkeypatch, misfit)
    answer(monkeypatch, QMessageBox.Yes)
    menu_action(window, "Import", "Weights into this project...").trigger()
    after = window.session.model().state_dict()
    assert torch.equal(after["features.0.bias"], before["features.0.bias"])  # missing: kept
    assert torch.equal(after["classifier.5.weight"], before["classifier.5.weight"])  # wrong shape: kept
    assert torch.all(after["features.0.weight"] == 0.5)  # matching: loaded
    assert torch.all(after["classifier.3.bias"] == 0.5)
    assert window.session.weights_unsaved
    assert "loaded" in window.statusBar().currentMessage()


def test_import_weights_from_a_pickle_is_refused_with_the_reason(window, tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    torch.save(window.session.model().state_dict(), path)
    before = window.session.model()
    open_from(monkeypatch, path)
    shown = errors(monkeypatch)
    menu_action(window, "Import", "Weights into this project...").trigger()
    assert len(shown) == 1 and "safetensors" in shown[0]
    assert window.session.model() is before

"""The Code tab: the project's standalone script, highlighted, copied, kept fresh only while shown."""

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QLabel, QTabWidget

import widgets.inspect.code_panel as code_panel
from app.project.network_commands import SetArgument
from widgets.inspect.code_panel import CodePanel


@pytest.fixture
def tabs(qtbot, cnn_session):
    """The panel as the second tab of a tab widget, another tab current (the panel hidden)."""
    host = QTabWidget()
    host.addTab(QLabel("another tab"), "Diagram")
    panel = CodePanel(cnn_session)
    host.addTab(panel, "Code")
    qtbot.addWidget(host)
    host.show()
    return host, panel


@pytest.fixture
def calls(monkeypatch):
    """Counts the script generations the panel runs."""
    counted: list[str] = []
    real = code_panel.generate_script

    def counting(project, name="model.py"):
        counted.append(name)
        return real(project, name)

    monkeypatch.setattr(code_panel, "generate_script", counting)
    return counted


def test_the_code_tab_shows_the_cnn_script_without_nnstudio_imports(tabs):
    host, panel = tabs
    host.setCurrentWidget(panel)
    text = panel.editor.toPlainText()
    assert "nn.Sequential" in text
    assert "'features'" in text and "'classifier'" in text
    assert "nn.Conv2d(in_channels=3, out_channels=6, kernel_size=5)" in text
    assert "import app" not in text and "from app" not in text
    assert "python cnn.py" in panel.caption.text()
    assert panel.editor.isReadOnly()
    metrics = QFontMetrics(panel.editor.font())
    assert metrics.horizontalAdvance("iiii") == metrics.horizontalAdvance("MMMM")  # monospace


def test_the_script_is_highlighted(tabs):
    host, panel = tabs
    host.setCurrentWidget(panel)
    document = panel.editor.document()
    block = document.findBlockByNumber(0)
    while block.isValid() and not block.text().startswith("def "):
        block = block.next()
    assert block.isValid()
    formats = block.layout().formats()
    assert any(f.start == 0 and f.length == 3 for f in formats)  # "def" is coloured


def test_copy_puts_the_whole_script_on_the_clipboard(tabs, qtbot):
    host, panel = tabs
    host.setCurrentWidget(panel)
    QApplication.clipboard().clear()
    with qtbot.waitSignal(panel.session.message) as said:
        panel.copy_button.click()
    assert said.args == ["script copied"]
    assert QApplication.clipboard().text() == panel.editor.toPlainText()
    assert QApplication.clipboard().text().startswith('"""Small CNN')


def test_edits_while_hidden_do_not_regenerate_and_showing_the_tab_does(tabs, calls, qtbot):
    host, panel = tabs
    assert calls == []  # nothing generated before anyone looks
    session = panel.session
    session.execute(SetArgument((1, 1), "out_features", 64))
    session.execute(SetArgument((1, 3), "in_features", 64))
    qtbot.wait(20)
    assert calls == []
    assert panel.stale
    host.setCurrentWidget(panel)
    assert len(calls) == 1
    assert "nn.Linear(in_features=400, out_features=64)" in panel.editor.toPlainText()
    assert not panel.stale

    host.setCurrentIndex(0)
    session.execute(SetArgument((1, 1), "out_features", 32))
    qtbot.wait(20)
    assert len(calls) == 1
    host.setCurrentWidget(panel)
    assert len(calls) == 2
    host.setCurrentIndex(0)
    host.setCurrentWidget(panel)  # shown again, nothing changed: no new generation
    assert len(calls) == 2


def test_edits_while_shown_regenerate_once_per_burst(tabs, calls, qtbot):
    host, panel = tabs
    host.setCurrentWidget(panel)
    assert len(calls) == 1
    session = panel.session
    session.execute(SetArgument((1, 1), "out_features", 64))
    session.execute(SetArgument((1, 3), "in_features", 64))
    qtbot.waitUntil(lambda: "nn.Linear(in_features=64, out_features=84)" in panel.editor.toPlainText())
    assert len(calls) == 2


def test_a_network_that_cannot_be_built_shows_the_reason_in_red(tabs, qtbot):
    host, panel = tabs
    host.setCurrentWidget(panel)
    panel.session.execute(SetArgument((0, 0), "groups", 2))
    qtbot.waitUntil(lambda: panel.error.isVisible())
    assert "in_channels must be divisible by groups" in panel.error.text()
    assert panel.error.property("role") == "error"
    assert not panel.editor.isVisible()
    assert not panel.copy_button.isEnabled()
    panel.session.undo()
    qtbot.waitUntil(lambda: panel.editor.isVisible())
    assert not panel.error.isVisible()
    assert "nn.Sequential" in panel.editor.toPlainText()


def test_opening_another_project_marks_the_script_stale(tabs, calls, qtbot):
    from widgets.session import new_project

    host, panel = tabs
    host.setCurrentWidget(panel)
    host.setCurrentIndex(0)
    panel.session.replace(new_project(), None)
    assert panel.stale and len(calls) == 1
    host.setCurrentWidget(panel)
    assert calls[-1] == "model.py"
    assert "Small CNN" not in panel.editor.toPlainText()

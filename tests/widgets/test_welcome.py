"""Started without a project, the window shows the welcome page, not an empty network."""

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QPushButton

from tests.cli.conftest import EXAMPLES
from widgets.main_window import MainWindow
from widgets.session import Session


@pytest.fixture
def welcome_window(qtbot):
    def make() -> MainWindow:
        window = MainWindow(Session(), welcome=True)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


def test_the_welcome_page_lists_every_example_with_its_run_and_the_ways_to_start(welcome_window):
    window = welcome_window()
    page = window.welcome
    assert window.central.currentWidget() is page
    assert not any(dock.isVisible() for dock in window.findChildren(QDockWidget))
    assert page.example_paths() == sorted(EXAMPLES.glob("*.nnproj"))
    assert all(page.findChild(QPushButton, f"openExample_{path.stem}") for path in page.example_paths())
    labels = " ".join(label.text() for label in page.findChildren(QLabel))
    assert "Small CNN" in labels and "Run: 4 epochs of shapes32 (3,000 samples), batch 64" in labels
    assert "Run: 20 epochs of seed_data.csv, batch 16" in labels
    assert [button.text() for button in page.start_buttons] == ["New", "New from Python Model", "Open"]
    assert "No recent files yet." in labels


def test_opening_an_example_from_the_welcome_page_shows_it_with_the_docks_back(welcome_window, qtbot):
    window = welcome_window()
    qtbot.mouseClick(window.welcome.example_buttons[EXAMPLES / "cnn.nnproj"], Qt.LeftButton)
    assert window.welcome is None and window.central.currentWidget() is window.tabs
    assert window.session.project.name == "Small CNN"
    assert window.network_dock.isVisible() and window.palette_dock.isVisible()
    assert QSettings().value("recent") is None  # an example is not a recent file


def test_new_from_the_welcome_page_gives_an_empty_network_to_build(welcome_window, qtbot):
    window = welcome_window()
    qtbot.mouseClick(window.welcome.start_buttons[0], Qt.LeftButton)
    assert window.welcome is None and window.central.currentWidget() is window.tabs
    assert window.session.project.network.children == []


def test_recent_files_are_listed_and_open(welcome_window, tmp_path):
    path = tmp_path / "mine.nnproj"
    path.write_bytes((EXAMPLES / "spirals.nnproj").read_bytes())
    QSettings().setValue("recent", [str(path)])
    window = welcome_window()
    recent = window.welcome.recent
    assert recent.count() == 1 and recent.item(0).text() == "mine.nnproj"
    recent.itemActivated.emit(recent.item(0))
    assert window.welcome is None and window.session.path == Path(path)


def test_a_window_on_a_project_has_no_welcome_page(qtbot, cnn_session):
    window = MainWindow(cnn_session)
    qtbot.addWidget(window)
    assert window.welcome is None and window.central.currentWidget() is window.tabs

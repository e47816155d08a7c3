"""Widget tests: offscreen Qt, settings redirected to a temporary folder, a session per test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

from app.project.project_file import load_project  # noqa: E402
from tests.cli.conftest import EXAMPLES  # noqa: E402
from widgets.session import Session  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    """QSettings go to a temporary folder: tests never read or write the user's settings."""
    QCoreApplication.setOrganizationName("nnstudio-tests")
    QCoreApplication.setApplicationName("nnstudio-tests")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """A modal dialog would wait forever for a click offscreen: answer them, and keep what they said.

    Tests that care about an answer patch the dialog again themselves."""
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    shown: list[str] = []

    def record(answer):
        def dialog(*args, **kwargs):
            shown.append(" ".join(str(a) for a in args[1:3]))
            return answer

        return dialog

    monkeypatch.setattr(QMessageBox, "question", record(QMessageBox.Discard))
    for name in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, record(QMessageBox.Ok))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", record(("", "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", record(("", "")))
    monkeypatch.setattr(QInputDialog, "getText", record(("", False)))
    return shown


@pytest.fixture
def session():
    """A session on an empty Sequential (as File > New gives)."""
    return Session()


@pytest.fixture
def cnn_session():
    path = EXAMPLES / "cnn.nnproj"
    return Session(load_project(path), path)


@pytest.fixture
def seed_groups_session():
    """The CNN with the seed note's optimizer: SGD, features at lr=1e-5, the classifier at 0.01."""
    path = EXAMPLES / "seed_param_groups.nnproj"
    return Session(load_project(path), path)

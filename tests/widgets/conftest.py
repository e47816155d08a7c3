"""Widget tests: offscreen Qt, settings redirected to a temporary folder, a session per test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

from app.project import load_project  # noqa: E402
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


@pytest.fixture
def session():
    """A session on an empty Sequential (as File > New gives)."""
    return Session()


@pytest.fixture
def cnn_session():
    path = EXAMPLES / "cnn.nnproj"
    return Session(load_project(path), path)

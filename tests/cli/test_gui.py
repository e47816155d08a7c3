"""The desktop app from the command line: rendered offscreen to a PNG, no display needed."""

from PySide6.QtGui import QImage

from tests.cli.conftest import EXAMPLES


def test_screenshot_renders_the_window_with_the_project_loaded(nnstudio, tmp_path):
    out = tmp_path / "window.png"
    result = nnstudio(EXAMPLES / "cnn.nnproj", "--screenshot", out, timeout=180)
    assert result.code == 0, result.err
    image = QImage(str(out))
    assert image.width() >= 1200 and image.height() >= 800
    assert "screenshot:" in result.out


def test_screenshot_of_a_broken_project_is_an_error_not_a_window(nnstudio, tmp_path):
    broken = tmp_path / "broken.nnproj"
    broken.write_text("{ not json")
    result = nnstudio(broken, "--screenshot", tmp_path / "x.png")
    assert result.code == 2
    assert "broken.nnproj" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "x.png").exists()

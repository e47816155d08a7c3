import pytest

from tests.cli.conftest import EXAMPLES


def test_validate_accepts_every_example(nnstudio):
    for path in sorted(EXAMPLES.glob("*.nnproj")):
        result = nnstudio("validate", path)
        assert result.code == 0, (path, result.err)
        assert "valid" in result.out


def test_validate_names_the_json_path_of_a_bad_value(nnstudio, tmp_path):
    text = (EXAMPLES / "seed_sequential.nnproj").read_text().replace('"out_features": 4', '"out_features": -3')
    bad = tmp_path / "bad.nnproj"
    bad.write_text(text)
    result = nnstudio("validate", bad)
    assert result.code == 2
    assert "network.children[0].args.out_features: must be a positive integer, got -3" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "args, words",
    [
        (("validate", "missing.nnproj"), "missing.nnproj"),
        (("summary",), "give a project file"),
        (("summary", "--model", "nowhere.py:Net"), "nowhere.py"),
        (("summary", "--model", "tests/models/zoo.py:LeNet5", "--input-shape", "2,x,3"), "--input-shape"),
        (("bench", "everything"), "invalid choice"),
    ],
)
def test_errors_are_one_message_and_exit_2(nnstudio, args, words):
    result = nnstudio(*args)
    assert result.code == 2
    assert words in result.err
    assert "Traceback" not in result.err


def test_debug_shows_the_traceback(nnstudio):
    result = nnstudio("--debug", "validate", "missing.nnproj")
    assert result.code == 2
    assert "Traceback" in result.err


def test_opening_the_app_without_a_display_explains_what_to_do(nnstudio):
    result = nnstudio(EXAMPLES / "cnn.nnproj")
    assert result.code == 2
    assert "QT_QPA_PLATFORM=offscreen" in result.err and "nnstudio summary" in result.err

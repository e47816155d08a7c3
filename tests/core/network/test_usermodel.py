"""load_user_model: a user's nn.Module from FILE.py:NAME or package.module:NAME."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from app.errors import ModelLoadError, NNStudioError
from app.network.usermodel import load_user_model, parse_model_kwargs

NET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, hidden: int = 16, classes: int = 3) -> None:
        super().__init__()
        self.body = nn.Linear(4, hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


class Helper:
    pass


def make_net(hidden: int = 8, depth: int = 1):
    return nn.Sequential(*[nn.Linear(hidden, hidden) for _ in range(depth)])


def not_a_model():
    return 42


CONSTANT = 3
"""


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def load_error(target: str, **kwargs) -> ModelLoadError:
    with pytest.raises(ModelLoadError) as caught:
        load_user_model(target, **kwargs)
    assert caught.value.where == target
    return caught.value


# ---- loading -------------------------------------------------------------------------------------


def test_class_by_file_path_builds_on_meta(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    model = load_user_model(f"{path}:Net")
    assert type(model).__name__ == "Net"
    assert isinstance(model, nn.Module)
    params = dict(model.named_parameters())
    assert set(params) == {"body.weight", "body.bias", "head.weight", "head.bias"}
    assert all(p.device.type == "meta" for p in params.values())
    assert params["body.weight"].shape == (16, 4)


def test_kwargs_reach_the_constructor(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    model = load_user_model(f"{path}:Net", {"hidden": 32, "classes": 5})
    assert model.head.weight.shape == (5, 32)


def test_factory_function_with_kwargs(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    model = load_user_model(f"{path}:make_net", parse_model_kwargs('{"hidden": 6, "depth": 3}'))
    assert isinstance(model, nn.Sequential) and len(model) == 3
    assert model[0].weight.shape == (6, 6)
    assert model[0].weight.device.type == "meta"


def test_device_cpu_builds_real_tensors(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    model = load_user_model(f"{path}:Net", device="cpu")
    assert model.body.weight.device.type == "cpu"
    assert model(torch.zeros(2, 4)).shape == (2, 3)


def test_relative_path_is_resolved_from_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path, "models/net.py", NET)
    monkeypatch.chdir(tmp_path)
    assert type(load_user_model("models/net.py:Net")).__name__ == "Net"


def test_package_module_name(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path, "userpkg_lm/__init__.py", "")
    write(tmp_path, "userpkg_lm/models.py", NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "userpkg_lm", raising=False)
    try:
        model = load_user_model("userpkg_lm.models:Net", {"hidden": 4})
        assert type(model).__module__ == "userpkg_lm.models"
        assert model.body.weight.shape == (4, 4)
        assert model.body.weight.device.type == "meta"
    finally:
        for name in ("userpkg_lm.models", "userpkg_lm"):
            sys.modules.pop(name, None)


def test_sibling_import_in_the_user_file_works_and_sys_path_is_restored(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sib_blocks_lm.py",
        """
        from torch import nn

        def block(width):
            return nn.Sequential(nn.Linear(width, width), nn.ReLU())
    """,
    )
    path = write(
        tmp_path,
        "main.py",
        """
        from torch import nn
        from sib_blocks_lm import block

        class Model(nn.Module):
            def __init__(self, width=5):
                super().__init__()
                self.blocks = nn.Sequential(block(width), block(width))
    """,
    )
    before = list(sys.path)
    try:
        model = load_user_model(f"{path}:Model")
        assert sum(p.numel() for p in model.parameters()) == 2 * (25 + 5)
        assert sys.path == before
    finally:
        sys.modules.pop("sib_blocks_lm", None)


def test_reloading_an_edited_file_runs_the_new_code(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    first = load_user_model(f"{path}:Net")
    path.write_text(textwrap.dedent(NET).replace("nn.Linear(4, hidden)", "nn.Linear(7, hidden)"))
    second = load_user_model(f"{path}:Net")
    assert first.body.weight.shape == (16, 4)
    assert second.body.weight.shape == (16, 7)


def test_code_that_needs_real_values_is_built_on_cpu(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "net.py",
        """
        import torch
        from torch import nn

        class Scaled(nn.Module):
            def __init__(self):
                super().__init__()
                width = int(torch.tensor(3.0).item())  # impossible on meta
                self.layer = nn.Linear(width, width)
    """,
    )
    model = load_user_model(f"{path}:Scaled")
    assert model.layer.weight.shape == (3, 3)
    assert model.layer.weight.device.type == "cpu"


def test_a_module_level_instance_is_returned_as_is(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET + "\nmodel = Net(hidden=2)\n")
    model = load_user_model(f"{path}:model")
    assert model.body.weight.shape == (2, 4)
    error = load_error(f"{path}:model", kwargs={"hidden": 3})
    assert "already built" in error.message


# ---- errors --------------------------------------------------------------------------------------


def test_missing_colon(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    error = load_error(str(path))
    assert "expected FILE.py:NAME or package.module:NAME" in error.message
    assert isinstance(error, NNStudioError)
    assert str(error) == f"{path}: {error.message}"


def test_missing_file(tmp_path: Path) -> None:
    target = f"{tmp_path / 'nowhere.py'}:Net"
    error = load_error(target)
    assert "no such file" in error.message and "nowhere.py" in error.message


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "pkg.py").mkdir()
    assert "not a file" in load_error(f"{tmp_path / 'pkg.py'}:Net").message


def test_missing_module(tmp_path: Path) -> None:
    error = load_error("no_such_package_lm.models:Net")
    assert "no module named 'no_such_package_lm'" in error.message


def test_import_failure_names_the_exception_and_the_users_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "broken.py",
        """
        from torch import nn

        WIDTH = 4
        LOOKUP = {"a": 1}["b"]
    """,
    )
    error = load_error(f"{path}:Net")
    assert "importing broken.py failed" in error.message
    assert "KeyError: 'b'" in error.message
    assert f"{path}, line 5" in error.message


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.py", "from torch import nn\n\nclass Net(nn.Module)\n    pass\n")
    error = load_error(f"{path}:Net")
    assert "SyntaxError" in error.message
    assert f"{path}, line 3" in error.message


def test_missing_dependency_of_the_user_file(tmp_path: Path) -> None:
    path = write(tmp_path, "deps.py", "import not_installed_dependency_lm\n")
    error = load_error(f"{path}:Net")
    assert "ModuleNotFoundError" in error.message and "not_installed_dependency_lm" in error.message
    assert f"{path}, line 1" in error.message


def test_failed_import_leaves_no_half_module_behind(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "raise RuntimeError('nope')\n")
    before = set(sys.modules)
    load_error(f"{path}:Net")
    assert not {name for name in set(sys.modules) - before if "broken" in name}


def test_exit_at_import_is_an_error_not_an_exit(tmp_path: Path) -> None:
    path = write(tmp_path, "quits.py", "import sys\nsys.exit(2)\n")
    assert "SystemExit" in load_error(f"{path}:Net").message


def test_name_not_found_lists_the_module_classes(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    error = load_error(f"{path}:Nett")
    assert "net.py has no 'Nett'" in error.message
    assert "the nn.Module classes it defines: Net" in error.message
    assert "Helper" not in error.message  # not a module
    assert "Linear" not in error.message  # imported, not defined there


def test_name_not_found_in_a_file_without_modules(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.py", "X = 1\n")
    assert "empty.py defines no nn.Module classes" in load_error(f"{path}:Net").message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Helper", "the class Helper, which is not an nn.Module subclass"),
        ("CONSTANT", "is an int, not an nn.Module class or a function returning one"),
        ("not_a_model", "not_a_model(...) returned an int, not an nn.Module"),
    ],
)
def test_objects_that_are_not_models(tmp_path: Path, name: str, expected: str) -> None:
    path = write(tmp_path, "net.py", NET)
    assert expected in load_error(f"{path}:{name}").message


def test_constructor_error_names_the_exception_and_the_users_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "net.py",
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self, width=4):
                super().__init__()
                self.layer = nn.Linear(width, width)
                raise ValueError(f"width {width} is too small")
    """,
    )
    error = load_error(f"{path}:Net")
    assert "Net(...) raised ValueError: width 4 is too small" in error.message
    assert f"{path}, line 8" in error.message


def test_constructor_error_inside_torch_points_at_the_users_call(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "net.py",
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.attention = nn.MultiheadAttention(10, 3)
    """,
    )
    error = load_error(f"{path}:Net")
    assert "embed_dim must be divisible by num_heads" in error.message
    assert f"{path}, line 7" in error.message


def test_unknown_keyword_argument_lists_the_accepted_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    error = load_error(f"{path}:Net", kwargs={"hiden": 3})
    assert "Net has no argument 'hiden'" in error.message
    assert "it takes: hidden, classes" in error.message


def test_missing_required_argument_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "net.py",
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self, width, depth=1):
                super().__init__()
                self.layer = nn.Linear(width, width)
    """,
    )
    error = load_error(f"{path}:Net")
    assert "missing a required argument: 'width'" in error.message
    assert "it takes: width, depth" in error.message
    assert load_user_model(f"{path}:Net", {"width": 2}).layer.weight.shape == (2, 2)


def test_name_not_found_in_a_package_lists_its_reexported_classes(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path, "userpkg2_lm/__init__.py", "from userpkg2_lm.nets import Net\n")
    write(tmp_path, "userpkg2_lm/nets.py", NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        error = load_error("userpkg2_lm:Nett")
        assert "userpkg2_lm has no 'Nett'; the nn.Module classes it defines: Net" in error.message
    finally:
        for name in ("userpkg2_lm.nets", "userpkg2_lm"):
            sys.modules.pop(name, None)


def test_kwargs_must_be_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "net.py", NET)
    assert "must be a JSON object" in load_error(f"{path}:Net", kwargs=[1, 2]).message


@pytest.mark.parametrize("target", [":Net", "net.py:", "net.py:not-a-name", "bad name:Net"])
def test_malformed_targets(target: str) -> None:
    error = load_error(target)
    assert "expected FILE.py:NAME or package.module:NAME" in error.message


# ---- --model-kwargs ------------------------------------------------------------------------------


def test_parse_model_kwargs() -> None:
    assert parse_model_kwargs('{"hidden": 64, "act": "relu", "dims": [1, 2]}') == {
        "hidden": 64,
        "act": "relu",
        "dims": [1, 2],
    }
    assert parse_model_kwargs("") == {}
    assert parse_model_kwargs(None) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"hidden": 64', "not valid JSON"),
        ("hidden=64", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("64", "got a number"),
    ],
)
def test_parse_model_kwargs_rejects(text: str, expected: str) -> None:
    with pytest.raises(ModelLoadError) as caught:
        parse_model_kwargs(text)
    assert caught.value.where == "--model-kwargs"
    assert expected in caught.value.message

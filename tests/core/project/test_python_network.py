"""Projects whose network is Python code: read without running it, built only with consent, relative
to the project's folder, and every bad input named by file and line or by key."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from torch import nn

from app.errors import CodeNotAllowedError, ModelLoadError, ProjectError, SpecError
from app.network.python_network import PythonNetwork
from app.project.network_module import build_network, code_location
from app.project.project_file import load_project, save_project
from app.training.prepare import make_model

NET = """
import pathlib
import torch
from torch import nn

pathlib.Path(__file__).with_name("ran.txt").write_text("the file was imported")


class Scaled(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(width))
        self.register_buffer("seen", torch.zeros(width))
        self.fc = nn.Linear(width, 2)

    def forward(self, x):
        return self.fc(x * self.scale)


def make(width=4):
    return Scaled(width)


instance = nn.Linear(4, 2)
not_a_module = 42


class Refuses(nn.Module):
    def __init__(self):
        super().__init__()
        raise ValueError("no thanks")
"""


def project_file(folder: Path, network: dict, name: str = "p.nnproj") -> Path:
    path = folder / name
    document = {
        "format": "nnstudio-project",
        "version": 3,
        "inputs": [{"shape": [2, 4]}],
        "network": network,
        "training": {"dataset": {"name": "blobs", "size": 64, "classes": 2}, "loss": {"type": "CrossEntropyLoss"}},
    }
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.py").write_text(textwrap.dedent(NET))
    return tmp_path


def allowed(path: Path):
    project = load_project(path)
    project.code_allowed = True
    return project


def test_loading_and_validating_never_run_the_code(folder):
    path = project_file(folder, {"python": "models/net.py:Scaled", "kwargs": {"width": 4}})
    project = load_project(path)
    assert project.network == PythonNetwork("models/net.py:Scaled", {"width": 4})
    assert not (folder / "models" / "ran.txt").exists()


def test_building_needs_consent_and_the_refusal_names_the_file_and_the_flag(folder):
    project = load_project(project_file(folder, {"python": "models/net.py:Scaled"}))
    with pytest.raises(CodeNotAllowedError) as caught:
        build_network(project)
    assert str(folder / "models" / "net.py") in caught.value.message and "--allow-code" in caught.value.message
    assert not (folder / "models" / "ran.txt").exists()
    project.code_allowed = True
    model = build_network(project)
    assert type(model).__name__ == "Scaled" and (folder / "models" / "ran.txt").exists()
    assert code_location(project) == str(folder / "models")


@pytest.mark.parametrize("name", ["Scaled", "make", "instance"])
def test_a_class_a_factory_or_an_instance_builds(folder, name):
    model = build_network(allowed(project_file(folder, {"python": f"models/net.py:{name}"})), device="cpu")
    assert isinstance(model, nn.Module)
    assert model(__import__("torch").zeros(2, 4)).shape == (2, 2)


def test_the_user_modules_own_parameters_and_buffers_train_and_save(folder, tmp_path):
    project = allowed(project_file(folder, {"python": "models/net.py:Scaled"}))
    model = make_model(project)
    assert [name for name, _ in model.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert [name for name, _ in model.named_buffers()] == ["seen"]
    save_project(project, folder / "p.nnproj", model.state_dict())
    again = allowed(folder / "p.nnproj")
    assert again.weights == "p.safetensors"
    reloaded = make_model(again)
    assert all((a == b).all() for a, b in zip(reloaded.state_dict().values(), model.state_dict().values()))


def test_save_as_in_another_folder_keeps_pointing_at_the_same_file(folder, tmp_path):
    project = load_project(project_file(folder, {"python": "models/net.py:Scaled", "kwargs": {"width": 4}}))
    elsewhere = tmp_path / "deep" / "er"
    elsewhere.mkdir(parents=True)
    save_project(project, elsewhere / "copy.nnproj")
    saved = json.loads((elsewhere / "copy.nnproj").read_text())
    assert saved["network"] == {"python": "../../models/net.py:Scaled", "kwargs": {"width": 4}}
    assert saved["version"] == 3
    copy = allowed(elsewhere / "copy.nnproj")
    assert type(build_network(copy)).__name__ == "Scaled"


def test_an_importable_module_is_named_by_its_package(folder):
    project = allowed(project_file(folder, {"python": "torch.nn:Identity"}))
    assert isinstance(build_network(project), nn.Identity)
    assert code_location(project) == "module torch"


@pytest.mark.parametrize(
    "network, where, message",
    [
        ({"python": "models/net.py"}, "network.python", "missing ':NAME'"),
        ({"python": 3}, "network.python", "must be a string"),
        ({"python": "models/net.py:Scaled", "kwargs": [1]}, "network.kwargs", "must be an object"),
        ({"python": "models/net.py:Scaled", "code": "x"}, "network.code", "unknown key"),
        ({"python": "models/net.py:1st"}, "network.python", "is not a Python name"),
    ],
)
def test_a_malformed_python_network_is_refused_on_load_with_its_key(folder, network, where, message):
    with pytest.raises(SpecError) as caught:
        load_project(project_file(folder, network))
    assert caught.value.where == where and message in caught.value.message


def test_a_version_2_file_cannot_hold_a_python_network(folder):
    path = project_file(folder, {"python": "models/net.py:Scaled"})
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "version": 2}))
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    assert caught.value.where == "network.python" and "version 3" in caught.value.message


@pytest.mark.parametrize(
    "target, expected",
    [
        ("models/missing.py:Net", "no such file"),
        ("models/net.py:Nope", "has no 'Nope'"),
        ("models/net.py:not_a_module", "not an nn.Module class or a function returning one"),
        ("models/net.py:Refuses", "Refuses(...) raised ValueError: no thanks"),
    ],
)
def test_bad_code_is_a_clear_error_naming_the_target(folder, target, expected):
    project = allowed(project_file(folder, {"python": target}))
    with pytest.raises(ModelLoadError) as caught:
        build_network(project)
    assert caught.value.where == target and expected in caught.value.message


def test_a_syntax_error_names_the_file_and_line(folder):
    (folder / "models" / "broken.py").write_text("import torch\n\ndef oops(:\n    pass\n")
    project = allowed(project_file(folder, {"python": "models/broken.py:oops"}))
    with pytest.raises(ModelLoadError) as caught:
        build_network(project)
    assert (
        "SyntaxError" in caught.value.message and f"{folder / 'models' / 'broken.py'}, line 3" in caught.value.message
    )


def test_an_edited_file_is_imported_afresh_on_the_next_build(folder):
    project = allowed(project_file(folder, {"python": "models/net.py:make"}))
    assert build_network(project).fc.out_features == 2
    source = (folder / "models" / "net.py").read_text().replace("nn.Linear(width, 2)", "nn.Linear(width, 5)")
    (folder / "models" / "net.py").write_text(source)
    assert build_network(project).fc.out_features == 5

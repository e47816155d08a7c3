"""A project whose network is the user's own nn.Module (resources/examples/custom_module.nnproj), run
through every command as a user would: nothing runs without --allow-code, everything works with it."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.project.project_file import load_project
from app.training.prepare import make_model
from tests.cli.conftest import EXAMPLES

TUTORIAL = EXAMPLES / "custom_module.nnproj"


@pytest.fixture
def tutorial(tmp_path):
    """A copy of the tutorial example and its Python file, so tests can write beside it."""
    shutil.copy(EXAMPLES / "custom_module.py", tmp_path)
    shutil.copy(TUTORIAL, tmp_path)
    return tmp_path / TUTORIAL.name


@pytest.mark.parametrize(
    "command",
    [
        ["summary"],
        ["train", "--epochs", "1"],
        ["export", "--code", "out.py"],
        ["weights", "--load", "w.safetensors", "--check"],
    ],
    ids=lambda c: c[0],
)
def test_without_allow_code_every_command_refuses_in_one_line_naming_the_file_and_the_flag(nnstudio, tutorial, command):
    result = nnstudio(command[0], tutorial, *command[1:])
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert str(tutorial.parent / "custom_module.py") in result.err and "--allow-code" in result.err
    assert not (tutorial.parent / "out.py").exists()


def test_summary_shows_the_custom_modules_own_parameters_and_buffer(nnstudio):
    result = nnstudio("summary", TUTORIAL, "--allow-code", "--json")
    assert result.code == 0, result.err
    rows = {row["path"]: row for row in result.json()["layers"]}
    assert rows["stem.1"]["type"] == "ScaledChannels"
    assert rows["stem.1"]["params"] == 2 * 12 and rows["stem.1"]["buffers"] == 12
    assert result.json()["output_shape"] == [8, 10]


def test_training_with_two_groups_and_probes_on_a_custom_submodule(nnstudio, tutorial, tmp_path):
    out = tmp_path / "run"
    result = nnstudio("train", tutorial, "--allow-code", "--epochs", "1", "--out", out, timeout=300)
    assert result.code == 0, result.err
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [e for e in events if e["event"] == "step"]
    assert steps[0]["lrs"] == [0.02, 0.01]  # the classifier's group, then the default group
    probed = {s["path"] for e in events if e["event"] == "probesnapshot" for s in e["stats"]}
    assert {"stem.1", "block.1", "classifier"} <= probed
    weights = load_file(str(out / "weights.safetensors"))
    assert {"stem.1.scale", "stem.1.shift", "stem.1.running_mean"} <= weights.keys()
    assert not torch.equal(weights["stem.1.scale"], torch.ones(12))  # the user's own Parameter trained
    assert events[-1]["event"] == "finished"


def test_exported_script_imports_the_users_file_and_makes_the_same_model(nnstudio, tutorial, tmp_path):
    script = tmp_path / "model.py"
    result = nnstudio("export", tutorial, "--allow-code", "--code", script, "--weights", tmp_path / "w.safetensors")
    assert result.code == 0, result.err
    text = script.read_text()
    assert "spec_from_file_location" in text and str(tutorial.parent / "custom_module.py") in text
    assert "class ScaledChannels" not in text  # imported, not copied
    namespace: dict = {"__name__": "exported"}
    exec(compile(text, str(script), "exec"), namespace)
    project = load_project(tutorial)
    project.code_allowed = True
    expected = make_model(project)
    made = namespace["build_model"]()
    assert repr(made) == repr(expected)
    assert all(torch.equal(a, b) for a, b in zip(made.state_dict().values(), expected.state_dict().values()))
    assert repr(namespace["build_optimizer"](made)).count("Parameter Group") == 2


def test_weights_from_a_file_load_into_a_python_network(nnstudio, tutorial, tmp_path):
    project = load_project(tutorial)
    project.code_allowed = True
    state = {k: v + 1 for k, v in make_model(project).state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    result = nnstudio("weights", tutorial, "--allow-code", "--load", tmp_path / "w.safetensors")
    assert result.code == 0, result.err
    again = load_project(tutorial)
    again.code_allowed = True
    assert torch.equal(make_model(again).state_dict()["stem.1.scale"], state["stem.1.scale"])


def test_onnx_export_of_a_python_network(nnstudio, tutorial, tmp_path):
    pytest.importorskip("onnx")
    result = nnstudio("export", tutorial, "--allow-code", "--onnx", tmp_path / "m.onnx", timeout=300)
    assert result.code == 0, result.err
    assert (tmp_path / "m.onnx").stat().st_size > 10_000


def test_two_runs_give_identical_weights_and_resume_continues_exactly(nnstudio, tutorial, tmp_path):
    full, first, resumed = tmp_path / "full", tmp_path / "first", tmp_path / "resumed"
    assert nnstudio("train", tutorial, "--allow-code", "--epochs", "2", "--out", full, timeout=300).code == 0
    assert nnstudio("train", tutorial, "--allow-code", "--epochs", "1", "--out", first, timeout=300).code == 0
    checkpoint = first / "checkpoint.json"
    result = nnstudio(
        "train", tutorial, "--allow-code", "--epochs", "2", "--resume", checkpoint, "--out", resumed, timeout=300
    )
    assert result.code == 0, result.err
    a, b = load_file(str(full / "weights.safetensors")), load_file(str(resumed / "weights.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

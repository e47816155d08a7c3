"""Project files on disk: weights beside the project, failed saves that leave the old file whole,
the example files."""

from __future__ import annotations

import json
import os

import pytest
import torch

from app.errors import ProjectError
from app.network.build import build
from app.project.network_module import build_network
from app.project.project_file import (
    load_project,
    load_weights,
    project_bytes,
    save_project,
)
from tests.core.project_helpers import EXAMPLE_FILES, EXAMPLES, allowed_example, small_project

# Weights -----------------------------------------------------------------------------------


def test_weights_round_trip_beside_the_project(tmp_path):
    torch.manual_seed(0)
    project = load_project(EXAMPLES / "resnet_block.nnproj")
    model = build(project.network)
    model(torch.randn(2, 3, 32, 32))  # BatchNorm running stats move away from their init
    path = tmp_path / "res.nnproj"
    save_project(project, path, model.state_dict())
    assert project.weights == "res.safetensors" and (tmp_path / "res.safetensors").is_file()
    loaded = load_project(path)
    assert loaded.weights == "res.safetensors"
    tensors = load_weights(loaded)
    expected = model.state_dict()
    assert tensors.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(tensors[name], tensor), name
    fresh = build(loaded.network)
    fresh.load_state_dict(tensors)
    fresh.eval(), model.eval()
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(fresh(x), model(x))


def test_shared_and_non_contiguous_tensors_are_saved(tmp_path):
    project = small_project()
    weight = torch.arange(12.0).reshape(3, 4)
    state = {"a": weight, "tied": weight, "view": weight.t(), "slice": weight[1]}
    save_project(project, tmp_path / "p.nnproj", state)
    loaded = load_weights(load_project(tmp_path / "p.nnproj"))
    for name, tensor in state.items():
        assert torch.equal(loaded[name], tensor), name


def test_a_project_without_weights_loads_none_and_a_missing_weights_file_is_an_error(tmp_path):
    project = small_project()
    save_project(project, tmp_path / "p.nnproj")
    assert load_weights(load_project(tmp_path / "p.nnproj")) is None
    data = dict(project.to_json(), weights="gone.safetensors")
    (tmp_path / "q.nnproj").write_text(json.dumps(data))
    with pytest.raises(ProjectError) as info:
        load_weights(load_project(tmp_path / "q.nnproj"))
    assert info.value.where == "weights" and "does not exist" in info.value.message


def test_a_damaged_weights_file_is_a_project_error(tmp_path):
    project = small_project()
    save_project(project, tmp_path / "p.nnproj", build(project.network).state_dict())
    (tmp_path / "p.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ProjectError) as info:
        load_weights(load_project(tmp_path / "p.nnproj"))
    assert info.value.where == "weights" and "cannot be read" in info.value.message


def test_save_as_elsewhere_takes_the_weights_file_along(tmp_path):
    project = small_project()
    state = build(project.network).state_dict()
    save_project(project, tmp_path / "a.nnproj", state)
    (tmp_path / "other").mkdir()
    save_project(project, tmp_path / "other" / "b.nnproj")
    assert project.weights == "b.safetensors"
    tensors = load_weights(load_project(tmp_path / "other" / "b.nnproj"))
    assert all(torch.equal(tensors[k], v) for k, v in state.items())


# Failed saves ------------------------------------------------------------------------------


def test_saving_over_a_folder_fails_and_leaves_the_folder_alone(tmp_path):
    folder = tmp_path / "p.nnproj"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(ProjectError) as info:
        save_project(small_project(), folder)
    assert info.value.where == str(folder) and "folder" in info.value.message
    assert (folder / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.nnproj"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_saving_into_a_read_only_folder_fails_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "p.nnproj"
    save_project(small_project(), path)
    before = path.read_bytes()
    tmp_path.chmod(0o500)
    try:
        changed = small_project()
        changed.name = "changed"
        with pytest.raises(ProjectError):
            save_project(changed, path)
    finally:
        tmp_path.chmod(0o700)
    assert path.read_bytes() == before


def test_a_failure_while_writing_leaves_the_old_files_and_no_temporaries(tmp_path, monkeypatch):
    project = small_project()
    path = tmp_path / "p.nnproj"
    state = build(project.network).state_dict()
    save_project(project, path, state)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    changed = small_project()
    changed.name = "changed"
    with pytest.raises(ProjectError) as info:
        save_project(changed, path, {k: v + 1 for k, v in state.items()})
    assert "No space left on device" in info.value.message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert changed.path is None and changed.weights is None


def test_a_value_json_cannot_hold_is_refused_before_anything_is_written(tmp_path):
    project = small_project()
    project.optimizer = {"lr": float("nan")}
    with pytest.raises(ProjectError) as info:
        save_project(project, tmp_path / "p.nnproj")
    assert info.value.where == "optimizer.lr"
    assert list(tmp_path.iterdir()) == []


def test_saving_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "p.nnproj"
    save_project(small_project(), path)
    path.chmod(0o640)
    save_project(small_project(), path)
    assert path.stat().st_mode & 0o777 == 0o640


# Examples ----------------------------------------------------------------------------------


def test_all_the_example_projects_are_there():
    names = {p.stem for p in EXAMPLE_FILES}
    assert {"seed_sequential", "seed_add_module", "cnn", "gru", "resnet_block"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_every_example_loads_builds_and_runs_forward(path):
    project = allowed_example(path)
    assert project.name and project.description
    model = build_network(project, device="cpu")
    inputs = [torch.zeros(spec.shape, dtype=spec.torch_dtype) for spec in project.inputs]
    with torch.no_grad():
        output = model(*inputs)
    assert isinstance(output, torch.Tensor) and output.shape[0] == project.inputs[0].shape[0]
    assert project_bytes(project) == path.read_bytes()  # written canonically by make_examples.py


def test_the_example_networks_have_the_expected_outputs():
    shapes = {}
    for stem in ("seed_sequential", "seed_add_module", "cnn", "gru", "resnet_block"):
        project = load_project(EXAMPLES / f"{stem}.nnproj")
        model = build(project.network)
        spec = project.inputs[0]
        shapes[stem] = tuple(model(torch.zeros(spec.shape, dtype=spec.torch_dtype)).shape)
    assert shapes == {
        "seed_sequential": (1, 2),
        "seed_add_module": (1, 2),
        "cnn": (8, 10),
        "gru": (8, 2),
        "resnet_block": (8, 10),
    }
    named = build(load_project(EXAMPLES / "seed_add_module.nnproj").network)
    assert [name for name, _ in named.named_children()] == [f"module_name{i}" for i in range(1, 5)]
    cnn = build(load_project(EXAMPLES / "cnn.nnproj").network)
    assert [name for name, _ in cnn.named_children()] == ["features", "classifier"]

"""Weights from a safetensors file: a report of what fits, nothing loaded unless all of it fits
(or a partial load is asked for), DataParallel prefixes, and a project saved with the weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from app.errors import NNStudioError
from app.interop.weights_import import (
    ShapeMismatch,
    WeightsError,
    check_weights,
    load_weights_into,
    set_project_weights,
)
from app.project.project_file import load_project, save_project
from app.training.prepare import make_model
from tests.core.project_helpers import small_project


def net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def write(path: Path, tensors: dict[str, torch.Tensor]) -> Path:
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


@pytest.fixture
def source() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return snapshot(net())


@pytest.fixture
def target() -> nn.Sequential:
    torch.manual_seed(2)
    return net()


def test_a_file_that_fits_loads_everything(tmp_path, source, target):
    report = load_weights_into(target, write(tmp_path / "w.safetensors", source))
    assert report.clean and report.lines()[0] == "9 tensors fit the network"
    assert sorted(report.loaded) == sorted(source)
    assert same(snapshot(target), source)


@pytest.mark.parametrize(
    "change, phrase",
    [
        (lambda t: t.pop("3.bias"), "1 tensor missing from the file: 3.bias"),
        (lambda t: t.update(extra=torch.zeros(2)), "1 tensor not in the network: extra"),
        (
            lambda t: t.update({"0.weight": torch.zeros(5, 3)}),
            "1 tensor of the wrong shape: 0.weight (expected [4, 3], got [5, 3])",
        ),
        (
            lambda t: t.update({"1.num_batches_tracked": torch.tensor(0.5)}),
            "1 tensor of the wrong dtype: 1.num_batches_tracked (expected int64, got float32)",
        ),
    ],
    ids=["missing", "unexpected", "shape", "dtype"],
)
def test_a_file_that_does_not_fit_loads_nothing_and_names_the_keys(tmp_path, source, target, change, phrase):
    change(source)
    before = snapshot(target)
    path = write(tmp_path / "w.safetensors", source)
    with pytest.raises(WeightsError) as caught:
        load_weights_into(target, path)
    assert phrase in caught.value.message
    assert "none were loaded" in caught.value.message and "--partial" in caught.value.message
    assert caught.value.where == str(path)
    assert same(snapshot(target), before)


def test_many_problems_name_the_first_few_and_count_them(tmp_path, target):
    tensors = {f"junk.{i}": torch.zeros(1) for i in range(8)}
    tensors["0.weight"] = torch.zeros(4, 3)
    with pytest.raises(WeightsError) as caught:
        load_weights_into(target, write(tmp_path / "w.safetensors", tensors))
    message = caught.value.message
    assert (
        "8 tensors missing from the file: 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var and 3 more" in message
    )
    assert "8 tensors not in the network: junk.0, junk.1, junk.2, junk.3, junk.4 and 3 more" in message


def test_partial_loads_exactly_the_matching_tensors(tmp_path, source, target):
    before = snapshot(target)
    del source["3.bias"]
    source["0.weight"] = torch.ones(5, 3)
    source["head.scale"] = torch.ones(1)
    report = load_weights_into(target, write(tmp_path / "w.safetensors", source), partial=True)
    assert report.missing == ["3.bias"] and report.unexpected == ["head.scale"]
    assert report.shape_mismatches == [ShapeMismatch("0.weight", (4, 3), (5, 3))]
    assert sorted(report.loaded) == sorted(
        ["0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "3.weight"]
    )
    after = snapshot(target)
    for name in report.loaded:
        assert torch.equal(after[name], source[name]), name
    for name in ("0.weight", "3.bias"):
        assert torch.equal(after[name], before[name]), name


def test_partial_with_nothing_in_common_is_an_error(tmp_path, target):
    with pytest.raises(WeightsError, match="none of the file's tensors fit"):
        load_weights_into(target, write(tmp_path / "w.safetensors", {"x": torch.zeros(1)}), partial=True)


def test_dataparallel_module_prefix_is_recognised_and_stripped(tmp_path, source, target):
    wrapped = {f"module.{name}": tensor for name, tensor in source.items()}
    report = load_weights_into(target, write(tmp_path / "dp.safetensors", wrapped))
    assert report.clean and report.stripped_prefix == "module."
    assert any("'module.'" in line for line in report.lines())
    assert same(snapshot(target), source)


def test_a_change_of_precision_is_converted_and_reported(source, target):
    doubles = {k: v.double() if v.is_floating_point() else v for k, v in source.items()}
    report = check_weights(target, doubles)
    assert report.clean
    assert [issue.name for issue in report.conversions][:2] == ["0.weight", "0.bias"]
    assert "converted to the network's dtype" in report.lines()[-1]


def test_a_pickled_checkpoint_is_refused_with_a_way_to_convert_it(tmp_path, target):
    path = tmp_path / "model.pt"
    torch.save(target.state_dict(), path)
    with pytest.raises(NNStudioError) as caught:
        load_weights_into(target, path)
    assert "safetensors only" in caught.value.message and "save_file(torch.load('model.pt'" in caught.value.message


def test_a_project_gets_the_weights_and_saving_writes_them(tmp_path):
    project = small_project()
    save_project(project, tmp_path / "p.nnproj")
    torch.manual_seed(5)
    trained = make_model(project, use_weights=False)
    for parameter in trained.parameters():
        nn.init.uniform_(parameter)
    path = write(tmp_path / "trained.safetensors", snapshot(trained))

    report = set_project_weights(project, path)
    assert report.clean and project.weights == "p.safetensors"
    save_project(project, tmp_path / "p2.nnproj", report.model.state_dict())

    reloaded = load_project(tmp_path / "p2.nnproj")
    assert reloaded.weights == "p2.safetensors"
    assert same(snapshot(make_model(reloaded)), snapshot(trained))


def test_a_partial_load_into_a_project_keeps_its_other_values(tmp_path):
    project = small_project()
    save_project(project, tmp_path / "p.nnproj")
    initial = snapshot(make_model(project))
    head = {"head.weight": torch.full((2, 4), 3.0), "head.bias": torch.zeros(2), "0.weight": torch.zeros(9)}
    report = load_weights_into(project, write(tmp_path / "head.safetensors", head), partial=True)
    assert sorted(report.loaded) == ["head.bias", "head.weight"]
    state = snapshot(report.model)
    assert torch.equal(state["head.weight"], head["head.weight"])
    assert torch.equal(state["0.weight"], initial["0.weight"])


def test_a_project_refuses_weights_that_do_not_fit(tmp_path):
    project = small_project()
    with pytest.raises(WeightsError, match="1 tensor not in the network: extra"):
        set_project_weights(
            project,
            write(
                tmp_path / "w.safetensors",
                {
                    **snapshot(make_model(project, use_weights=False)),
                    "extra": torch.zeros(1),
                },
            ),
        )
    assert project.weights is None

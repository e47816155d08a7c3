"""A Python network as an editable project: an exact round trip for catalog types and containers,
and for anything else every part a project cannot hold, with its path and the reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from app.interop.python_import import (
    UnrepresentableError,
    find_unrepresentable,
    guess_inputs,
    import_project,
    project_from_module,
)
from app.network.build import build
from app.network.inputs import InputSpec
from app.network.usermodel import load_user_model
from app.project.project_file import load_project
from app.training.prepare import make_model
from tests.core.project_helpers import SPEC_EXAMPLE_FILES

NETWORK = """
from collections import OrderedDict

import torch
from torch import nn


def make_net(hidden: int = 8):
    torch.manual_seed(3)
    net = nn.Sequential()
    net.add_module("features", nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()))
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flatten", nn.Flatten())
    net.add_module("head", nn.Sequential(OrderedDict(
        fc=nn.Linear(4, hidden), act=nn.ReLU(inplace=True), drop=nn.Dropout(0.25), out=nn.Linear(hidden, 3),
    )))
    return net


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.fc(x)) + x


def with_custom_block():
    return nn.Sequential(nn.Linear(2, 4), Block(), nn.Linear(4, 2))


def with_plain_list():
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU())
    net.heads = [nn.Linear(4, 2), nn.Linear(4, 3)]
    return net


def with_both():
    net = with_custom_block()
    net.heads = [nn.Linear(4, 2)]
    return net
"""


@pytest.fixture
def network_file(tmp_path: Path) -> Path:
    path = tmp_path / "network.py"
    path.write_text(textwrap.dedent(NETWORK))
    return path


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def problems_of(target: str) -> list[str]:
    with pytest.raises(UnrepresentableError) as caught:
        project_from_module(load_user_model(target), where=target)
    assert caught.value.where == target
    return [str(problem) for problem in caught.value.problems]


def test_a_sequential_and_add_module_network_round_trips_with_its_weights(network_file, tmp_path):
    target = f"{network_file}:make_net"
    original = load_user_model(target, device="cpu")
    result = import_project(target, with_weights=True)
    assert result.project.name == "make_net" and result.project.description == f"imported from {target}"
    result.save(tmp_path / "net.nnproj")

    project = load_project(tmp_path / "net.nnproj")
    assert project.weights == "net.safetensors"
    model = make_model(project)
    assert str(model) == str(original)
    expected = state(original)
    assert state(model).keys() == expected.keys()
    assert all(torch.equal(state(model)[name], expected[name]) for name in expected)
    model.eval(), original.eval()
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(model(x), original(x))


def test_kwargs_reach_the_factory_and_without_weights_the_project_starts_from_its_init(network_file, tmp_path):
    result = import_project(f"{network_file}:make_net", {"hidden": 5})
    assert result.state_dict is None
    assert next(result.model.parameters()).device.type == "meta"  # nothing allocated for a structure
    result.save(tmp_path / "net.nnproj")
    project = load_project(tmp_path / "net.nnproj")
    assert project.weights is None
    assert make_model(project).head.fc.out_features == 5


def test_a_package_module_factory_imports_too(network_file, monkeypatch):
    monkeypatch.syspath_prepend(str(network_file.parent))
    result = import_project("network:make_net")
    assert [child.name for child in result.project.network.children] == ["features", "pool", "flatten", "head"]


def test_a_custom_class_with_its_own_forward_is_named(network_file):
    assert problems_of(f"{network_file}:with_custom_block") == [
        "1 (Block): a custom class with its own forward (Block, network.py line 20)"
    ]


def test_a_plain_list_attribute_is_named(network_file):
    (problem,) = problems_of(f"{network_file}:with_plain_list")
    assert problem.startswith("heads (list): plain list attribute: `heads` is a plain list holding 2 modules")
    assert "use nn.ModuleList" in problem


def test_every_part_a_spec_cannot_hold_is_listed_and_no_spec_is_made(network_file):
    with pytest.raises(UnrepresentableError) as caught:
        project_from_module(load_user_model(f"{network_file}:with_both"))
    assert [(p.path, p.class_name) for p in caught.value.problems] == [("1", "Block"), ("heads", "list")]
    lines = caught.value.message.splitlines()
    assert lines[0] == "cannot be imported as an editable project: 2 parts cannot be represented (nothing was written):"
    assert lines[1].startswith("  1 (Block): a custom class with its own forward")
    assert lines[2].startswith("  heads (list): plain list attribute")


def test_a_custom_root_class_is_named_as_the_model(network_file):
    (problem,) = problems_of(f"{network_file}:Block")
    assert problem.startswith("model (Block): a custom class with its own forward")


def test_arguments_changed_after_construction_cannot_be_recovered():
    changed = nn.Linear(2, 3)
    changed.out_features = 7
    (problem,) = find_unrepresentable(nn.Sequential(nn.ReLU(), changed))
    assert problem.path == "1" and problem.class_name == "Linear"
    assert problem.reason.startswith("arguments cannot be recovered")
    assert "weight [3, 2] where it would be [7, 2]" in problem.reason


def test_shared_modules_tied_weights_hooks_and_foreign_torch_types_are_named():
    shared = nn.Linear(3, 3)
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    hooked = nn.Linear(3, 3)
    hooked.register_forward_hook(lambda module, args, output: None)
    model = nn.Sequential(shared, shared, tied, hooked, nn.ModuleDict({"a": nn.ReLU()}))
    reasons = {p.path: p.reason for p in find_unrepresentable(model)}
    assert list(reasons) == ["1", "2.1", "3", "4"]
    assert reasons["1"].startswith("the same module object as 0 (shared)")
    assert reasons["2.1"] == "weight is the same tensor as 2.0.weight (tied weights): a project cannot tie them"
    assert reasons["3"].startswith("has forward hooks registered")
    assert reasons["4"] == "torch.nn.modules.container.ModuleDict is not one of nnstudio's layer types"


def test_frozen_parameters_and_eval_modules_become_freeze_and_mode():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    model[0].weight.requires_grad_(False)
    model[1].eval()
    result = project_from_module(model, inputs=[InputSpec([2, 4])])
    assert result.project.freeze == ["0.weight"]
    assert result.project.mode == {"training": True, "overrides": {"1": False}}
    assert model[0].weight.requires_grad is False  # the user's module is left as it was
    built = make_model(result.project, use_weights=False)
    assert not built[0].weight.requires_grad and built[0].bias.requires_grad
    assert not built[1].training and built.training


def test_the_input_shape_is_guessed_from_the_first_layer_unless_given():
    result = project_from_module(nn.Sequential(nn.Linear(6, 2)))
    assert [spec.to_json() for spec in result.project.inputs] == [{"shape": [2, 6], "dtype": "float32"}]
    assert any("is a guess from the first layer" in note for note in result.notes)
    assert guess_inputs(nn.Sequential(nn.Conv2d(3, 8, 3)))[0].shape == [2, 3, 32, 32]
    assert guess_inputs(nn.Embedding(100, 8))[0].to_json() == {"shape": [2, 16], "dtype": "int64"}
    assert guess_inputs(nn.GRU(5, 7, batch_first=True))[0].shape == [2, 16, 5]
    given = project_from_module(nn.Sequential(nn.Linear(6, 2)), inputs=[InputSpec([4, 6])])
    assert given.project.inputs[0].shape == [4, 6] and given.notes == []


def test_every_example_network_comes_back_as_the_same_spec():
    for path in SPEC_EXAMPLE_FILES:
        project = load_project(path)
        result = project_from_module(build(project.network, device="meta"), inputs=project.inputs)
        assert result.project.network == project.network, path.name

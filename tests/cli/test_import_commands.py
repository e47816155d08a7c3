"""``nnstudio import``, ``nnstudio weights`` and ``nnstudio train --tensorboard``, as a user runs them."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.network.usermodel import load_user_model
from app.project.project_file import load_project
from app.training.prepare import make_model
from tests.cli.conftest import EXAMPLES

NETWORK = """
import torch
from torch import nn


def make_net():
    torch.manual_seed(7)
    net = nn.Sequential()
    net.add_module("body", nn.Sequential(nn.Linear(2, 8), nn.Tanh()))
    net.add_module("head", nn.Linear(8, 3))
    return net


class Twice(nn.Module):
    def forward(self, x):
        return 2 * x


def broken():
    net = nn.Sequential(nn.Linear(2, 8), Twice())
    net.extras = [nn.Linear(8, 8)]
    return net
"""


@pytest.fixture
def network(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(textwrap.dedent(NETWORK))
    return path


def test_import_writes_an_editable_project_with_the_networks_weights(nnstudio, network, tmp_path):
    out = tmp_path / "net.nnproj"
    result = nnstudio("import", f"{network}:make_net", "--out", out, "--weights", "--input-shape", "4,2")
    assert result.code == 0, result.err
    assert result.out.startswith(f"imported {network}:make_net into {out}: 5 modules, 51 parameters; weights: ")
    project = load_project(out)
    assert [spec.shape for spec in project.inputs] == [[4, 2]] and project.weights == "net.safetensors"
    original = load_user_model(f"{network}:make_net", device="cpu")
    rebuilt = make_model(project)
    assert str(rebuilt) == str(original)
    expected, saved = original.state_dict(), rebuilt.state_dict()
    assert saved.keys() == expected.keys() and all(torch.equal(saved[k], expected[k]) for k in expected)


def test_a_network_a_spec_cannot_hold_becomes_a_python_network_project_that_runs_only_when_allowed(
    nnstudio, network, tmp_path
):
    out = tmp_path / "projects" / "broken.nnproj"
    out.parent.mkdir()
    result = nnstudio("import", f"{network}:broken", "--out", out)
    assert result.code == 0, result.err
    assert "since 2 parts cannot be a spec" in result.out
    assert "note:   1 (Twice): a custom class with its own forward (Twice, net.py line" in result.out
    assert "note:   extras (list): plain list attribute" in result.out
    saved = json.loads(out.read_text())
    assert saved["network"] == {"python": "../net.py:broken"}  # relative to the project's own folder

    refused = nnstudio("summary", out)
    assert refused.code == 2 and "Traceback" not in refused.err
    assert f"{network} (broken)" in refused.err and "--allow-code" in refused.err
    allowed = nnstudio("summary", out, "--allow-code")
    assert allowed.code == 0, allowed.err
    assert "Twice" in allowed.out


def test_import_does_not_replace_a_project_unless_forced(nnstudio, network, tmp_path):
    out = tmp_path / "net.nnproj"
    out.write_text("my work")
    result = nnstudio("import", f"{network}:make_net", "--out", out)
    assert result.code == 2 and "exists already; add --force" in result.err
    assert out.read_text() == "my work"


def test_weights_refuses_a_file_that_does_not_fit_then_loads_it_partially(nnstudio, tmp_path):
    project = tmp_path / "spirals.nnproj"
    project.write_bytes((EXAMPLES / "spirals.nnproj").read_bytes())
    tensors = {
        f"module.{i}.{kind}": torch.full(shape, 0.5)
        for i, shape in ((0, (64, 2)), (2, (64, 64)))
        for kind, shape in (("weight", shape), ("bias", shape[:1]))
    }
    tensors["module.4.weight"] = torch.zeros(10, 64)
    weights = tmp_path / "pretrained.safetensors"
    save_file(tensors, str(weights))

    refused = nnstudio("weights", project, "--load", weights)
    assert refused.code == 2
    assert "1 tensor missing from the file: 4.bias" in refused.err
    assert "1 tensor of the wrong shape: 4.weight (expected [3, 64], got [10, 64])" in refused.err
    assert project.read_bytes() == (EXAMPLES / "spirals.nnproj").read_bytes()

    out = tmp_path / "warm.nnproj"
    loaded = nnstudio("weights", project, "--load", weights, "--partial", "--out", out)
    assert loaded.code == 0, loaded.err
    assert "the prefix 'module.'" in loaded.out
    assert f"loaded 4 tensors from {weights}; 2 kept their current values; saved {out}" in loaded.out
    saved = load_file(str(tmp_path / "warm.safetensors"))
    assert torch.equal(saved["2.weight"], torch.full((64, 64), 0.5)) and saved["4.weight"].shape == (3, 64)
    assert load_project(out).weights == "warm.safetensors"


def test_train_with_tensorboard_writes_event_files(nnstudio, tmp_path):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    result = nnstudio(
        "train",
        EXAMPLES / "spirals.nnproj",
        "--epochs",
        "1",
        "--out",
        tmp_path / "run",
        "--tensorboard",
        tmp_path / "tb",
    )
    assert result.code == 0, result.err
    logged = accumulator.EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0})
    logged.Reload()
    assert {"train/loss", "lr/default", "epoch/val_accuracy"} <= set(logged.Tags()["scalars"])
    assert set(logged.Tags()["histograms"]) == {"probes/1/activation", "probes/3/activation"}
    assert len(logged.Scalars("train/loss")) == 38  # 1200 training samples in batches of 32

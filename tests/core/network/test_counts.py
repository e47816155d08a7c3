"""FLOPs and saved-for-backward bytes from the meta pass agree with torch on a real CPU forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from app.network.analysis import analyse
from app.network.inputs import InputSpec
from app.project.network_module import build_network
from tests.core.project_helpers import EXAMPLE_FILES, allowed_example
from tests.models.counting_truth import flop_truth, saved_truth
from tests.models.zoo import INPUTS, MODELS, _real_input


def assert_counts_match(model: nn.Module, inputs: list[InputSpec]) -> None:
    analysis = analyse(model, inputs)
    assert analysis.error is None, str(analysis.error)
    torch.manual_seed(0)
    real = [_real_input(spec.shape, spec.dtype) for spec in inputs]
    flops, total_flops = flop_truth(model, real)
    saved, total_saved = saved_truth(model, real)
    assert analysis.total_flops == total_flops
    assert analysis.activation_bytes == total_saved
    for row in analysis.rows:
        assert row.flops == flops[row.path], row.path
        assert row.activation_bytes == saved[row.path], row.path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_zoo_counts_match_a_real_forward(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    assert_counts_match(model, [InputSpec(list(shape), dtype) for shape, dtype in INPUTS[name]])


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_counts_match_a_real_forward(path):
    project = allowed_example(path)
    torch.manual_seed(0)
    assert_counts_match(build_network(project, device="cpu"), project.inputs)


def test_in_place_relu_and_a_view_share_the_storage_they_save():
    # Linear 0 saves its input; ReLU(inplace) saves its result, which is Linear 0's output; the
    # flatten view of it is what Linear 1 saves: three tensors, two storages.
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(8, 2))
    analysis = analyse(model, [InputSpec([5, 4])])
    rows = {row.path: row.activation_bytes for row in analysis.rows}
    assert rows == {"0": 5 * 4 * 4, "1": 5 * 8 * 4, "2": 0, "3": 5 * 8 * 4}
    assert analysis.activation_bytes == 5 * 4 * 4 + 5 * 8 * 4
    assert analysis.total_flops == 2 * 5 * 4 * 8 + 2 * 5 * 8 * 2


class _Shared(nn.Module):
    """One tensor saved by three ops, and one Linear called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 6)

    def forward(self, x):
        y = self.proj(x)
        return self.proj(y * y) + torch.tanh(y)


def test_a_tensor_saved_by_several_ops_and_a_module_called_twice_count_once_and_twice():
    assert_counts_match(_Shared(), [InputSpec([3, 6])])
    analysis = analyse(_Shared(), [InputSpec([3, 6])])
    assert analysis.row("proj").flops == 2 * (2 * 3 * 6 * 6)


def test_frozen_network_saves_nothing_it_does_not_need():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.requires_grad_(False)
    analysis = analyse(model, [InputSpec([5, 4])])
    assert analysis.activation_bytes == 0
    assert analysis.total_flops == 2 * 5 * 4 * 8 + 2 * 5 * 8 * 2


def test_counts_are_left_out_when_asked_and_where_the_forward_failed():
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))
    failed = analyse(model, [InputSpec([5, 4])])
    assert failed.total_flops is None and failed.activation_bytes is None
    assert failed.row("0").flops == 2 * 5 * 4 * 8 and failed.row("1").flops is None
    plain = analyse(nn.Linear(4, 2), [InputSpec([5, 4])], counts=False)
    assert plain.total_flops is None and plain.to_json()["total_flops"] is None


def _torchvision():
    try:
        import torchvision
    except Exception as error:  # a torchvision built for another torch fails at import with RuntimeError
        pytest.skip(f"torchvision unavailable: {error}")
    return torchvision


CLASSIFIERS = {
    "resnet18": 64,
    "mobilenet_v3_small": 64,
    "efficientnet_b0": 64,
    "squeezenet1_1": 64,
    "shufflenet_v2_x0_5": 64,
    "regnet_y_400mf": 64,
    "densenet121": 64,
    "convnext_tiny": 64,
    "vit_b_16": 224,
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_torchvision_classifier_counts_match_a_real_forward(name):
    torchvision = _torchvision()
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None)
    size = CLASSIFIERS[name]
    assert_counts_match(model, [InputSpec([1, 3, size, size])])

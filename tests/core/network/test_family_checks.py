"""The family checks only explain a forward that fails; they never refuse one that runs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from app.network.analysis import analyse
from app.network.inputs import InputSpec


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's LayerNorm over the channels of (N, C, H, W) images (as in torchvision)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ChannelsLastLinear(nn.Linear):
    """A Linear over dim 1 of (N, C, L): its input does not end in in_features."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class InheritsForward(nn.Linear):
    """A subclass that keeps torch's forward: torch's rules, so the family's explanation, apply."""


def real_shapes(model: nn.Module, shape: list[int]) -> dict[str, list[int]]:
    shapes: dict[str, list[int]] = {}
    paths = {id(m): path for path, m in model.named_modules()}

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        shapes.setdefault(paths[id(module)], list(output.shape))

    handles = [m.register_forward_hook(record) for m in model.modules()]
    with torch.no_grad():
        model(torch.randn(shape))
    for handle in handles:
        handle.remove()
    return shapes


@pytest.mark.parametrize(
    "model, shape",
    [
        (nn.Sequential(nn.Conv2d(3, 8, 3), LayerNorm2d(8), nn.GELU()), [2, 3, 16, 16]),
        (nn.Sequential(nn.Conv1d(3, 8, 3), ChannelsLastLinear(8, 4)), [2, 3, 12]),
    ],
    ids=["layernorm2d", "channels-last-linear"],
)
def test_a_subclass_with_its_own_forward_is_analysed_like_torch_runs_it(model, shape):
    truth = real_shapes(model, shape)
    analysis = analyse(model, [InputSpec(shape)])
    assert analysis.error is None, str(analysis.error)
    assert analysis.output_shape == truth[""]
    assert {row.path: row.output_shape for row in analysis.rows} == {p: s for p, s in truth.items() if p}


def test_a_forward_replaced_on_the_instance_is_not_judged_by_its_class():
    norm = nn.LayerNorm(8)
    norm.forward = lambda x: nn.functional.layer_norm(x.transpose(1, -1), (8,)).transpose(1, -1)
    model = nn.Sequential(nn.Conv2d(3, 8, 1), norm)
    analysis = analyse(model, [InputSpec([2, 3, 5, 5])])
    assert analysis.error is None, str(analysis.error)
    assert analysis.output_shape == [2, 8, 5, 5]


def test_a_subclass_with_its_own_forward_that_fails_gets_torchs_own_message():
    analysis = analyse(nn.Sequential(LayerNorm2d(8)), [InputSpec([2, 4, 5, 5])])
    assert analysis.error is not None and analysis.error.where == "0"
    assert str(analysis.error).startswith("0 (LayerNorm2d): input (2, 4, 5, 5): ")
    # torch's words about the permuted input, not the family's about the input the module was given
    assert "expected input with shape [8], but got input of size torch.Size([2, 5, 5, 4])" in str(analysis.error)
    assert "ends in" not in str(analysis.error)


def test_a_subclass_keeping_torchs_forward_still_says_what_it_expected():
    analysis = analyse(nn.Sequential(InheritsForward(4, 2)), [InputSpec([3, 5])])
    assert str(analysis.error) == "0 (InheritsForward): input (3, 5) but in_features=4"

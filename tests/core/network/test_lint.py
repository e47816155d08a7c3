"""lint: what PyTorch cannot see (modules, parameters and tensors outside the registered tree)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations, prune

from app.network.build import build
from app.network.catalog import catalog
from app.network.lint import LintWarning, lint
from app.network.spec import Node, container, layer


def by_path(found: list[LintWarning]) -> dict[str, LintWarning]:
    return {w.path: w for w in found}


class PlainListAndTensor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = [nn.Linear(8, 8), nn.Linear(8, 8)]
        self.scale = torch.ones(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.layers:
            x = step(x)
        return self.head(x * self.scale)


def test_plain_list_and_plain_tensor_are_both_reported() -> None:
    found = by_path(lint(PlainListAndTensor()))
    assert set(found) == {"layers", "scale"}

    layers = found["layers"]
    assert layers.kind == "module-container"
    assert layers.hidden_params == 144  # 2 * (8*8 + 8)
    assert "`layers` is a plain list holding 2 modules with 144 parameters" in layers.message
    assert "model.parameters()" in layers.message
    assert layers.message.endswith("use nn.ModuleList")

    scale = found["scale"]
    assert scale.kind == "plain-tensor"
    assert "`scale` is a plain tensor (8 elements)" in scale.message
    assert "register_buffer" in scale.message and "nn.Parameter" in scale.message
    assert scale.hidden_params == 0  # ones(8) does not require grad: nothing the optimizer misses


def test_the_hidden_count_is_what_parameters_really_misses() -> None:
    model = PlainListAndTensor()
    seen = sum(p.numel() for p in model.parameters())
    everything = seen + sum(p.numel() for layer in model.layers for p in layer.parameters())
    assert everything - seen == by_path(lint(model))["layers"].hidden_params


def test_plain_tensor_that_requires_grad_counts_as_hidden() -> None:
    model = nn.Module()
    model.gain = torch.ones(3, 4, requires_grad=True)
    (found,) = lint(model)
    assert found.path == "gain" and found.hidden_params == 12
    assert "12 elements" in found.message and "requires grad" in found.message


def test_dict_of_modules_suggests_module_dict() -> None:
    model = nn.Module()
    model.heads = {"cls": nn.Linear(4, 3), "box": nn.Linear(4, 4)}
    (found,) = lint(model)
    assert found.path == "heads" and found.kind == "module-container"
    assert found.hidden_params == (4 * 3 + 3) + (4 * 4 + 4)
    assert "plain dict holding 2 modules with 35 parameters" in found.message
    assert found.message.endswith("use nn.ModuleDict")


def test_tuple_of_modules_is_reported() -> None:
    model = nn.Module()
    model.pair = (nn.Linear(2, 2), nn.ReLU())
    (found,) = lint(model)
    assert found.path == "pair" and found.hidden_params == 6
    assert "plain tuple holding 2 modules with 6 parameters" in found.message
    assert "nn.ModuleList" in found.message


def test_set_of_modules_is_reported() -> None:
    model = nn.Module()
    model.extras = {nn.Linear(2, 2)}
    (found,) = lint(model)
    assert "plain set holding 1 module with 6 parameters" in found.message


def test_nested_containers_are_searched_one_level_down() -> None:
    model = nn.Module()
    model.grid = [[nn.Linear(2, 2), nn.Linear(2, 2)], [nn.Linear(2, 2)]]
    model.groups = {"a": [nn.Linear(3, 1)], "b": [nn.Linear(3, 1)]}
    found = by_path(lint(model))
    assert found["grid"].hidden_params == 18
    assert "3 modules" in found["grid"].message
    assert found["grid"].message.endswith("use nn.ModuleList of nn.ModuleList")
    assert found["groups"].hidden_params == 8
    assert found["groups"].message.endswith("use nn.ModuleDict of nn.ModuleList")


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.branches = [nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)]


def test_a_nested_modules_attribute_is_named_by_its_module_path() -> None:
    model = nn.Sequential()
    model.add_module("stem", nn.Conv2d(3, 3, 1))
    model.add_module("block", Block())
    (found,) = lint(model)
    assert found.path == "block.branches"
    assert found.hidden_params == 2 * (3 * 4 + 4)
    assert found.message.startswith("`branches` is a plain list")


def test_deeper_nesting_keeps_the_full_path() -> None:
    encoder = nn.Module()
    encoder.block = Block()
    model = nn.Module()
    model.encoder = encoder
    assert [w.path for w in lint(model)] == ["encoder.block.branches"]


def test_a_list_of_registered_modules_is_not_a_problem() -> None:
    model = nn.Module()
    model.first = nn.Linear(4, 4)
    model.second = nn.Linear(4, 4)
    model.order = [model.first, model.second]  # a convenience view over registered modules
    assert lint(model) == []


def test_only_the_unregistered_part_of_a_list_is_counted() -> None:
    model = nn.Module()
    model.first = nn.Linear(4, 4)
    model.layers = [model.first, nn.Linear(4, 2)]
    (found,) = lint(model)
    assert found.hidden_params == 10  # the Linear(4, 2) only
    assert "holding 1 module with 10 parameters" in found.message


def test_a_hidden_module_sharing_registered_parameters_hides_only_the_rest() -> None:
    shared = nn.Linear(4, 4)
    model = nn.Module()
    model.shared = shared
    model.hidden = [nn.Sequential(shared, nn.Linear(4, 1))]
    (found,) = lint(model)
    assert found.hidden_params == 5  # shared's 20 are reachable already


def test_a_module_held_twice_is_counted_once() -> None:
    twice = nn.Linear(8, 8)
    model = nn.Module()
    model.layers = [twice, twice]
    (found,) = lint(model)
    assert found.hidden_params == 72
    assert "holding 1 module with 72 parameters" in found.message


def test_plain_list_of_parameters_suggests_parameter_list() -> None:
    model = nn.Module()
    model.weights = [nn.Parameter(torch.zeros(4)), nn.Parameter(torch.zeros(2, 3))]
    model.named = {"a": nn.Parameter(torch.zeros(5))}
    found = by_path(lint(model))
    assert found["weights"].kind == "parameter-container"
    assert found["weights"].hidden_params == 10
    assert "2 nn.Parameters (10 elements)" in found["weights"].message
    assert found["weights"].message.endswith("use nn.ParameterList")
    assert found["named"].hidden_params == 5
    assert found["named"].message.endswith("use nn.ParameterDict")


def test_plain_containers_of_ordinary_tensors_are_reported() -> None:
    model = nn.Module()
    model.masks = [torch.ones(4), torch.zeros(2, 3)]
    model.anchors = (torch.ones(5),)
    model.gains = {"a": torch.ones(3, requires_grad=True), "b": torch.ones(2)}
    found = by_path(lint(model))
    assert {w.kind for w in found.values()} == {"tensor-container"}
    masks = found["masks"]
    assert masks.message.startswith("`masks` is a plain list holding 2 tensors (10 elements): they are not in")
    assert "register_buffer" in masks.message and "state_dict()" in masks.message
    assert masks.hidden_params == 0  # nothing the optimizer misses: they do not require grad
    assert "plain tuple holding 1 tensor (5 elements)" in found["anchors"].message
    gains = found["gains"]
    assert "1 of them requiring grad, so the optimizer never updates them" in gains.message
    assert gains.hidden_params == 3


def test_a_container_of_registered_tensors_is_not_a_problem() -> None:
    model = nn.Module()
    model.register_buffer("mean", torch.zeros(3))
    model.scale = nn.Parameter(torch.ones(3))
    model.stats = [model.mean, model.scale]  # views of what is registered already
    assert lint(model) == []


def test_a_list_mixing_modules_and_tensors_gets_one_warning_for_each() -> None:
    model = nn.Module()
    model.parts = [nn.Linear(2, 2), torch.ones(3)]
    assert sorted(w.kind for w in lint(model)) == ["module-container", "tensor-container"]


def test_parameter_list_is_fine() -> None:
    model = nn.Module()
    model.weights = nn.ParameterList([nn.Parameter(torch.zeros(4)), nn.Parameter(torch.zeros(2))])
    model.named = nn.ParameterDict({"a": nn.Parameter(torch.zeros(5))})
    assert lint(model) == []
    assert sum(p.numel() for p in model.parameters()) == 11


def test_registered_buffers_and_parameters_are_fine() -> None:
    model = nn.Module()
    model.register_buffer("mean", torch.zeros(3))
    model.register_buffer("scratch", torch.zeros(3), persistent=False)
    model.gain = nn.Parameter(torch.ones(3))
    model.alias = model.mean  # the same tensor object as a registered buffer
    assert lint(model) == []


def test_lists_of_non_modules_are_fine() -> None:
    model = nn.Module()
    model.sizes = [1, 2, 3]
    model.names = {"a": "b"}
    model.kinds = (nn.Linear, nn.ReLU)  # classes, not modules
    assert lint(model) == []


def test_a_lint_warning_prints_its_path() -> None:
    model = nn.Module()
    model.scale = torch.ones(2)
    (found,) = lint(model)
    assert str(found).startswith("scale: `scale` is a plain tensor (2 elements)")


# ---- no false positives on PyTorch's own modules -----------------------------------------------

SMALL_ARGS: dict[str, dict] = {
    "Reshape": {"shape": [2, 2]},
    "Permute": {"dims": [0, 1]},
    "Linear": {"in_features": 3, "out_features": 2},
    "Bilinear": {"in1_features": 3, "in2_features": 2, "out_features": 2},
    "LPPool1d": {"norm_type": 2.0, "kernel_size": 2},
    "LPPool2d": {"norm_type": 2.0, "kernel_size": 2},
    "LayerNorm": {"normalized_shape": 4},
    "RMSNorm": {"normalized_shape": 4},
    "GroupNorm": {"num_groups": 2, "num_channels": 4},
    "LocalResponseNorm": {"size": 2},
    "Threshold": {"threshold": 0.1, "value": 0.0},
    "Embedding": {"num_embeddings": 5, "embedding_dim": 3},
    "EmbeddingBag": {"num_embeddings": 5, "embedding_dim": 3},
    "MultiheadAttention": {"embed_dim": 8, "num_heads": 2},
    "TransformerEncoderLayer": {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "batch_first": True},
    "TransformerDecoderLayer": {"d_model": 8, "nhead": 2, "dim_feedforward": 16},
    "Unflatten": {"dim": 1, "unflattened_size": [2, 2]},
    "PixelShuffle": {"upscale_factor": 2},
    "PixelUnshuffle": {"downscale_factor": 2},
    "ChannelShuffle": {"groups": 2},
    "ConstantPad1d": {"padding": 1, "value": 0.0},
    "ConstantPad2d": {"padding": 1, "value": 0.0},
}
ARGS_BY_NAME = {
    "in_channels": 2,
    "out_channels": 2,
    "kernel_size": 2,
    "output_size": 2,
    "num_features": 4,
    "input_size": 4,
    "hidden_size": 4,
    "padding": 1,
    "num_layers": 2,
}
SLOTS: dict[str, list[Node]] = {
    "Residual": [layer("Linear", name="body", in_features=4, out_features=4)],
    "TransformerEncoder": [
        layer("TransformerEncoderLayer", name="encoder_layer", **SMALL_ARGS["TransformerEncoderLayer"])
    ],
    "TransformerDecoder": [
        layer("TransformerDecoderLayer", name="decoder_layer", **SMALL_ARGS["TransformerDecoderLayer"])
    ],
    "Sequential": [layer("Linear", in_features=3, out_features=2), layer("ReLU")],
    "ModuleList": [layer("Linear", in_features=3, out_features=2)],
    "Parallel": [layer("Linear", in_features=3, out_features=2), layer("Linear", in_features=3, out_features=2)],
    "Chain": [layer("Linear", in_features=3, out_features=2), layer("Tanh")],
}


def small_node(type_name: str) -> Node:
    entry = catalog()[type_name]
    args = dict(SMALL_ARGS.get(type_name, {}))
    for arg in entry.args:
        if arg.required and arg.name not in args:
            args[arg.name] = ARGS_BY_NAME[arg.name]  # a KeyError here means: add the type above
    return container(type_name, *SLOTS.get(type_name, []), **args)


@pytest.mark.parametrize("type_name", list(catalog()))
def test_no_warnings_on_any_catalog_layer(type_name: str) -> None:
    model = build(small_node(type_name))
    assert isinstance(model, catalog()[type_name].cls)
    assert lint(model) == []


@pytest.mark.parametrize("type_name", ["RNN", "GRU", "LSTM"])
def test_no_warnings_on_deep_bidirectional_recurrent_layers(type_name: str) -> None:
    model = build(layer(type_name, input_size=4, hidden_size=6, num_layers=2, bidirectional=True))
    assert lint(model) == []


def composite_models() -> dict[str, nn.Module]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # weight_norm's deprecation notice
        return {
            "transformer": nn.Transformer(8, 2, 1, 1, dim_feedforward=16),
            "lstm-projection": nn.LSTM(4, 8, num_layers=2, proj_size=3, bidirectional=True),
            "attention-kdim": nn.MultiheadAttention(8, 2, kdim=4, vdim=4),
            "convnet": nn.Sequential(
                nn.Conv2d(3, 8, 3),
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Dropout(0.1),
                nn.Linear(8, 10),
            ),
            "lazy": nn.Sequential(nn.LazyLinear(4), nn.LazyBatchNorm1d()),
            "weight-norm-parametrized": parametrizations.weight_norm(nn.Linear(4, 4)),
            "orthogonal": parametrizations.orthogonal(nn.Linear(4, 4)),
            "spectral-norm-hook": nn.utils.spectral_norm(nn.Linear(4, 4)),
            "weight-norm-hook": nn.utils.weight_norm(nn.Linear(4, 4)),
            "pruned": prune.l1_unstructured(nn.Linear(4, 4), "weight", amount=0.5),
            "adaptive-softmax": nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4]),
            "weighted-loss": nn.CrossEntropyLoss(weight=torch.ones(3)),
            "module-dict": nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ModuleList([nn.ReLU()])}),
        }


@pytest.mark.parametrize("name", list(composite_models()))
def test_no_warnings_on_composite_torch_models(name: str) -> None:
    assert lint(composite_models()[name]) == []


def test_meta_models_are_linted_too() -> None:
    with torch.device("meta"):
        model = PlainListAndTensor()
    found = by_path(lint(model))
    assert found["layers"].hidden_params == 144
    assert "8 elements" in found["scale"].message

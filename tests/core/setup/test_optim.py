import math

import pytest
import torch
from torch import nn, optim

from app.errors import NNStudioError
from app.setup.optim import build_optimizer, grad_norms, group_labels, parse_optimizer


def seed_net():
    net = nn.Sequential()
    net.add_module("features", nn.Sequential(nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6), nn.ReLU()))
    net.add_module("classifier", nn.Sequential(nn.Flatten(), nn.Linear(24, 10), nn.ReLU(), nn.Linear(10, 2)))
    return net


def test_seed_example_prints_exactly_what_torch_prints():
    net = seed_net()
    by_hand = optim.SGD(
        [{"params": net.features.parameters()}, {"params": net.classifier.parameters(), "lr": 0.01}], lr=0.00001
    )
    config = parse_optimizer(
        {
            "type": "SGD",
            "defaults": {"lr": 1e-05},
            "groups": [{"select": "features"}, {"select": "classifier", "lr": 0.01}],
        }
    )
    mine, _ = build_optimizer(net, config)
    assert repr(mine) == repr(by_hand)
    assert "lr: 1e-05" in repr(mine) and "lr: 0.01" in repr(mine)


def test_every_trainable_parameter_lands_in_exactly_one_group_first_match_wins():
    net = seed_net()
    config = parse_optimizer(
        {
            "type": "AdamW",
            "defaults": {"lr": 1e-3, "weight_decay": 0.05},
            "groups": [
                {"select": "*.bias", "weight_decay": 0.0},
                {"select": {"types": ["normalization"]}, "weight_decay": 0.0},
                {"select": "classifier.*", "lr": 1e-2},
            ],
        }
    )
    optimizer, assignment = build_optimizer(net, config)
    ids = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(ids) == sorted(id(p) for p in net.parameters()) and len(ids) == len(set(ids))
    assert assignment.names[0] == ["features.0.bias", "features.1.bias", "classifier.1.bias", "classifier.3.bias"]
    assert assignment.names[1] == ["features.1.weight"]
    assert assignment.names[2] == ["classifier.1.weight", "classifier.3.weight"]
    assert assignment.names[3] == ["features.0.weight"]  # the default group, last
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.0, 0.0, 0.05, 0.05]
    assert group_labels(config, assignment) == ["*.bias", "type normalization", "classifier.*", "default"]


def test_a_selector_that_matches_nothing_is_reported():
    config = parse_optimizer({"type": "SGD", "defaults": {"lr": 0.1}, "groups": [{"select": "encoder", "lr": 1.0}]})
    _, assignment = build_optimizer(seed_net(), config)
    assert assignment.warnings(config) == ["optimizer.groups[0]: selector 'encoder' matches no trainable parameter"]


def test_frozen_parameters_stay_out_of_the_optimizer():
    net = seed_net()
    for p in net.features.parameters():
        p.requires_grad_(False)
    optimizer, _ = build_optimizer(net, parse_optimizer({"type": "SGD", "defaults": {"lr": 0.1}}))
    in_optimizer = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert not in_optimizer & {id(p) for p in net.features.parameters()}


@pytest.mark.parametrize(
    "data, where",
    [
        ({"type": "Sgd"}, "optimizer.type"),
        ({"type": "SGD", "defaults": {"lr": -1}}, "optimizer.defaults.lr"),
        ({"type": "SGD", "defaults": {"learning_rate": 0.1}}, "optimizer.defaults.learning_rate"),
        ({"type": "Adam", "defaults": {"betas": [0.9]}}, "optimizer.defaults.betas"),
        ({"type": "SGD", "groups": [{"lr": 0.1}]}, "optimizer.groups[0]"),
        ({"type": "SGD", "groups": [{"select": {"types": ["Conv9d"]}}]}, "optimizer.groups[0].select.types[0]"),
        ({"type": "SGD", "defaults": {"nesterov": "yes"}}, "optimizer.defaults.nesterov"),
    ],
)
def test_bad_optimizer_sections_name_the_path(data, where):
    with pytest.raises(NNStudioError) as caught:
        parse_optimizer(data)
    assert caught.value.where == where


def test_group_gradient_norms_are_per_group():
    net = nn.Linear(3, 1)
    config = parse_optimizer({"type": "SGD", "defaults": {"lr": 0.1}, "groups": [{"select": "bias"}]})
    optimizer, _ = build_optimizer(net, config)
    net(torch.ones(4, 3)).sum().backward()
    bias_norm, weight_norm = grad_norms(optimizer)
    assert bias_norm == pytest.approx(4.0)
    assert weight_norm == pytest.approx(float(torch.full((3,), 4.0).norm()))


def test_a_type_that_is_not_a_string_is_refused_by_name():
    from app.setup.initializers import parse_init
    from app.setup.schedulers import parse_scheduler

    for parse, data, where in (
        (parse_optimizer, {"type": ["SGD"]}, "optimizer.type"),
        (parse_scheduler, {"type": {"StepLR": 1}}, "scheduler.type"),
        (parse_init, {"rules": [{"select": "x", "scheme": [1]}]}, "init.rules[0].scheme"),
    ):
        with pytest.raises(NNStudioError) as caught:
            parse(data)
        assert caught.value.where == where and "must be one of" in caught.value.message


def _sgd_with_grads(*grads: torch.Tensor) -> torch.optim.Optimizer:
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for param, grad in zip(params, grads):
        param.grad = grad
    return torch.optim.SGD(params, lr=0.1)


def test_gradient_norms_match_torchs_norm_in_float32_and_float64():
    generator = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        grads = [
            torch.randn(300, 70, generator=generator, dtype=dtype),
            torch.randn(70, generator=generator, dtype=dtype),
        ]
        expected = float(torch.cat([g.reshape(-1) for g in grads]).double().norm())
        assert grad_norms(_sgd_with_grads(*grads)) == [pytest.approx(expected, rel=1e-5)]


def test_a_large_but_finite_gradient_has_a_finite_norm():
    # Squares past float32's 3.4e38 must not read as an exploding gradient: the run would stop.
    huge = torch.full((4,), 1e20)
    assert grad_norms(_sgd_with_grads(huge)) == [pytest.approx(2e20, rel=1e-5)]


def test_a_nan_or_inf_gradient_has_a_non_finite_norm():
    assert math.isnan(grad_norms(_sgd_with_grads(torch.tensor([1.0, float("nan")])))[0])
    assert grad_norms(_sgd_with_grads(torch.tensor([1.0, float("inf")])))[0] == float("inf")


def test_a_transposed_gradient_is_read_whole():
    grad = torch.arange(12.0).reshape(3, 4).t()  # a transposed view
    assert grad_norms(_sgd_with_grads(grad)) == [pytest.approx(float(torch.arange(12.0).norm()))]

import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from app.errors import NNStudioError
from app.setup.initializers import apply_init, parse_init


def big_net():
    return nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.Linear(300, 200))


def init(rules, seed=0):
    torch.manual_seed(seed)
    model = big_net()
    config = parse_init({"seed": seed, "rules": rules})
    applied = apply_init(model, config)
    return model, applied


def test_kaiming_normal_std_matches_sqrt_2_over_fan_in():
    model, applied = init(
        [
            {
                "select": {"types": ["Linear"], "paths": ["*.weight"]},
                "scheme": "kaiming_normal",
                "args": {"nonlinearity": "relu"},
            }
        ]
    )
    weight = model[0].weight
    assert applied["0.weight"] == "kaiming_normal" and applied["0.bias"] == "default"
    assert weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.03)
    assert abs(weight.mean().item()) < 0.003


def test_xavier_uniform_bounds_and_variance():
    model, _ = init([{"select": "3.weight", "scheme": "xavier_uniform", "args": {"gain": 2.0}}])
    bound = 2.0 * math.sqrt(6 / (300 + 200))
    weight = model[3].weight
    assert weight.abs().max().item() <= bound
    assert weight.var().item() == pytest.approx(bound**2 / 3, rel=0.05)


def test_normal_uniform_constant_and_first_rule_wins():
    model, applied = init(
        [
            {"select": "0.bias", "scheme": "constant", "args": {"val": 0.5}},
            {"select": "*.bias", "scheme": "zeros"},
            {"select": "0.weight", "scheme": "normal", "args": {"mean": 1.0, "std": 0.1}},
            {"select": "3.weight", "scheme": "uniform", "args": {"a": -0.2, "b": 0.2}},
        ]
    )
    assert torch.all(model[0].bias == 0.5) and torch.all(model[3].bias == 0) and torch.all(model[2].bias == 0)
    assert model[0].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert model[0].weight.std().item() == pytest.approx(0.1, rel=0.05)
    assert model[3].weight.min().item() >= -0.2 and model[3].weight.max().item() <= 0.2
    assert applied["0.bias"] == "constant"


def test_orthogonal_and_dirac_and_eye_where_valid():
    model, _ = init(
        [
            {"select": "0.weight", "scheme": "orthogonal"},
            {"select": "2.weight", "scheme": "dirac"},
            {"select": "3.weight", "scheme": "eye"},
        ]
    )
    w = model[0].weight  # 300 x 400: orthonormal rows
    assert torch.allclose(w @ w.T, torch.eye(300), atol=1e-4)
    assert torch.equal(model[3].weight, torch.eye(200, 300))
    centre = model[2].weight[:, :, 1, 1]
    assert torch.equal(centre[:16], torch.eye(16))


@pytest.mark.parametrize(
    "rule, words",
    [
        ({"select": "0.bias", "scheme": "orthogonal"}, "0.bias has shape (300,)"),
        ({"select": "0.weight", "scheme": "dirac"}, "0.weight has shape (300, 400)"),
        ({"select": "2.weight", "scheme": "eye"}, "2.weight"),
    ],
)
def test_impossible_combinations_name_the_parameter(rule, words):
    with pytest.raises(NNStudioError) as caught:
        init([rule])
    assert caught.value.where == "init.rules[0]"
    assert words in caught.value.message


@pytest.mark.parametrize(
    "data, where",
    [
        ({"seed": -1}, "init.seed"),
        ({"rules": [{"select": "x", "scheme": "he"}]}, "init.rules[0].scheme"),
        ({"rules": [{"select": "x", "scheme": "normal", "args": {"sd": 1}}]}, "init.rules[0].args.sd"),
        (
            {"rules": [{"select": "x", "scheme": "kaiming_normal", "args": {"mode": "fan_middle"}}]},
            "init.rules[0].args.mode",
        ),
    ],
)
def test_bad_init_sections_name_the_path(data, where):
    with pytest.raises(NNStudioError) as caught:
        parse_init(data)
    assert caught.value.where == where


SCRIPT = """
import torch, hashlib
from torch import nn
from app.setup.initializers import apply_init, parse_init
torch.manual_seed(7)
model = nn.Sequential(nn.Linear(50, 40), nn.Conv2d(3, 4, 3))
rule = {"select": "0.weight", "scheme": "trunc_normal", "args": {"std": 0.02}}
apply_init(model, parse_init({"seed": 7, "rules": [rule]}))
print(hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest())
"""


def test_same_seed_gives_bit_identical_weights_in_every_process():
    digests = {
        subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(digests) == 1

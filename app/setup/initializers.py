"""``nn.init`` schemes by selector, and the seed that makes them reproducible.

``{"seed": 0, "rules": [{"select": {"types": ["Conv2d"], "paths": ["*.weight"]},
"scheme": "kaiming_normal", "args": {"nonlinearity": "relu"}}]}``: each parameter takes the first
rule that selects it; the rest keep PyTorch's default (the layer's ``reset_parameters``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from app.errors import NNStudioError
from app.jsoncheck import object_with, one_of
from app.setup.selectors import Selector, named_parameters_with_owner, parse_selector

NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")


@dataclass(frozen=True)
class Scheme:
    function: Callable | None
    defaults: dict
    min_dims: int = 0
    max_dims: int = 8
    needs: str = ""  # what the scheme needs of a parameter, for the error message


SCHEMES: dict[str, Scheme] = {
    "default": Scheme(None, {}),
    "xavier_uniform": Scheme(nn.init.xavier_uniform_, {"gain": 1.0}, 2, needs="at least 2 dimensions"),
    "xavier_normal": Scheme(nn.init.xavier_normal_, {"gain": 1.0}, 2, needs="at least 2 dimensions"),
    "kaiming_uniform": Scheme(
        nn.init.kaiming_uniform_,
        {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
        2,
        needs="at least 2 dimensions",
    ),
    "kaiming_normal": Scheme(
        nn.init.kaiming_normal_,
        {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
        2,
        needs="at least 2 dimensions",
    ),
    "orthogonal": Scheme(nn.init.orthogonal_, {"gain": 1.0}, 2, needs="at least 2 dimensions"),
    "normal": Scheme(nn.init.normal_, {"mean": 0.0, "std": 1.0}),
    "uniform": Scheme(nn.init.uniform_, {"a": 0.0, "b": 1.0}),
    "trunc_normal": Scheme(nn.init.trunc_normal_, {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0}),
    "constant": Scheme(nn.init.constant_, {"val": 0.0}),
    "zeros": Scheme(nn.init.zeros_, {}),
    "ones": Scheme(nn.init.ones_, {}),
    "eye": Scheme(nn.init.eye_, {}, 2, 2, needs="exactly 2 dimensions (a Linear weight)"),
    "dirac": Scheme(nn.init.dirac_, {"groups": 1}, 3, 5, needs="3 to 5 dimensions (a convolution weight)"),
}
CHOICES = {"mode": ("fan_in", "fan_out"), "nonlinearity": NONLINEARITIES}


@dataclass
class InitRule:
    selector: Selector
    scheme: str
    args: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = {"select": self.selector.to_json(), "scheme": self.scheme}
        return {**data, "args": dict(self.args)} if self.args else data


@dataclass
class InitConfig:
    seed: int | None = 0
    rules: list[InitRule] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"seed": self.seed, "rules": [rule.to_json() for rule in self.rules]}


def parse_init(data: object, where: str = "init") -> InitConfig:
    data = object_with(data, where, ("seed", "rules"))
    seed = data.get("seed", 0)
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64):
        raise NNStudioError(f"must be null or an integer from 0 to 2**64-1, got {seed!r}", f"{where}.seed")
    rules_data = data.get("rules", [])
    if not isinstance(rules_data, list):
        raise NNStudioError("must be a list of rules", f"{where}.rules")
    return InitConfig(seed, [_parse_rule(rule, f"{where}.rules[{i}]") for i, rule in enumerate(rules_data)])


def _parse_rule(data: object, where: str) -> InitRule:
    data = object_with(data, where, ("select", "scheme", "args"), required=("select", "scheme"))
    scheme = one_of(data["scheme"], SCHEMES, f"{where}.scheme")
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise NNStudioError("must be an object", f"{where}.args")
    for name, value in args.items():
        _check_arg(scheme, name, value, f"{where}.args.{name}")
    return InitRule(parse_selector(data["select"], f"{where}.select"), scheme, dict(args))


def _check_arg(scheme: str, name: str, value: object, where: str) -> None:
    defaults = SCHEMES[scheme].defaults
    if name not in defaults:
        raise NNStudioError(f"{scheme} takes no argument {name!r} (its: {', '.join(defaults) or 'none'})", where)
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise NNStudioError(f"must be one of {', '.join(CHOICES[name])}, got {value!r}", where)
    elif name == "groups":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise NNStudioError(f"must be a positive integer, got {value!r}", where)
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NNStudioError(f"must be a finite number, got {value!r}", where)


def apply_init(model: nn.Module, config: InitConfig, where: str = "init") -> dict[str, str]:
    """Apply the rules in parameter order; returns each parameter's scheme ("default" if none)."""
    applied: dict[str, str] = {}
    with torch.no_grad():
        for name, parameter, owner in named_parameters_with_owner(model):
            index = next((i for i, r in enumerate(config.rules) if r.selector.matches(name, owner)), None)
            if index is None:
                applied[name] = "default"
                continue
            rule = config.rules[index]
            _apply(rule, name, parameter, f"{where}.rules[{index}]")
            applied[name] = rule.scheme
    return applied


def _apply(rule: InitRule, name: str, parameter: torch.Tensor, where: str) -> None:
    scheme = SCHEMES[rule.scheme]
    if scheme.function is None:
        return
    if not scheme.min_dims <= parameter.dim() <= scheme.max_dims:
        raise NNStudioError(
            f"{rule.scheme} needs a parameter with {scheme.needs}; {name} has shape {tuple(parameter.shape)}",
            where,
        )
    try:
        scheme.function(parameter, **{**scheme.defaults, **rule.args})
    except (ValueError, RuntimeError) as error:
        raise NNStudioError(f"{rule.scheme} on {name}: {error}", where) from error

"""What each dimension of a layer's parameter or buffer means, by layer type (Qt-free).

``dimension_names(nn.Conv2d(3, 6, 5), "weight", 4)`` is
``["out_channels", "in_channels", "kH", "kW"]``: the tooltip that tells a user why a Conv2d
weight is ``[6, 3, 5, 5]`` and a Linear weight ``[out_features, in_features]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from torch import nn

_KERNEL = {1: ["kW"], 2: ["kH", "kW"], 3: ["kD", "kH", "kW"]}
_RNN_NAME = re.compile(r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$")
Rule = Callable[[nn.Module, str, int], "list[str] | None"]


def _conv(module: nn.Module, name: str, ndim: int) -> list[str] | None:
    kernel = _KERNEL.get(ndim - 2, [f"k{i}" for i in range(max(0, ndim - 2))])
    grouped = getattr(module, "groups", 1) > 1
    if name == "weight":
        return ["out_channels", "in_channels/groups" if grouped else "in_channels", *kernel]
    return ["out_channels"] if name == "bias" else None


def _conv_transpose(module: nn.Module, name: str, ndim: int) -> list[str] | None:
    kernel = _KERNEL.get(ndim - 2, [f"k{i}" for i in range(max(0, ndim - 2))])
    grouped = getattr(module, "groups", 1) > 1
    if name == "weight":
        return ["in_channels", "out_channels/groups" if grouped else "out_channels", *kernel]
    return ["out_channels"] if name == "bias" else None


def _table(**names: list[str]) -> Rule:
    return lambda module, name, ndim: names.get(name)


def _rnn(module: nn.Module, name: str, ndim: int) -> list[str] | None:
    match = _RNN_NAME.match(name)
    if match is None:
        return None
    kind, which, layer = match.group(1), match.group(2), int(match.group(3))
    prefix = (
        "4*" if isinstance(module, (nn.LSTM, nn.LSTMCell)) else "3*" if isinstance(module, (nn.GRU, nn.GRUCell)) else ""
    )
    rows = f"{prefix}hidden_size"
    if which == "hr":
        return ["proj_size", "hidden_size"]
    if kind == "bias":
        return [rows]
    if which == "hh":
        return [rows, "proj_size" if getattr(module, "proj_size", 0) else "hidden_size"]
    if layer == 0:
        return [rows, "input_size"]
    directions = "2*" if getattr(module, "bidirectional", False) else ""
    return [rows, f"{directions}{'proj_size' if getattr(module, 'proj_size', 0) else 'hidden_size'}"]


def _norm(features: str) -> Rule:
    table = {name: [features] for name in ("weight", "bias", "running_mean", "running_var")}
    table["num_batches_tracked"] = []
    return lambda module, name, ndim: table.get(name)


def _layer_norm(module: nn.Module, name: str, ndim: int) -> list[str] | None:
    if name in ("weight", "bias"):
        return ["normalized_shape"] if ndim == 1 else [f"normalized_shape[{i}]" for i in range(ndim)]
    return None


_RULES: dict[str, Rule] = {
    "_ConvNd": _conv,
    "_ConvTransposeNd": _conv_transpose,
    "Linear": _table(weight=["out_features", "in_features"], bias=["out_features"]),
    "Bilinear": _table(weight=["out_features", "in1_features", "in2_features"], bias=["out_features"]),
    "_NormBase": _norm("num_features"),
    "GroupNorm": _norm("num_channels"),
    "LayerNorm": _layer_norm,
    "RMSNorm": _layer_norm,
    "Embedding": _table(weight=["num_embeddings", "embedding_dim"]),
    "EmbeddingBag": _table(weight=["num_embeddings", "embedding_dim"]),
    "RNNBase": _rnn,
    "RNNCellBase": lambda m, name, ndim: _rnn(m, name.replace("_ih", "_ih_l0").replace("_hh", "_hh_l0"), ndim),
    "MultiheadAttention": _table(
        in_proj_weight=["3*embed_dim", "embed_dim"],
        in_proj_bias=["3*embed_dim"],
        q_proj_weight=["embed_dim", "embed_dim"],
        k_proj_weight=["embed_dim", "kdim"],
        v_proj_weight=["embed_dim", "vdim"],
        bias_k=["1", "1", "embed_dim"],
        bias_v=["1", "1", "embed_dim"],
    ),
    "PReLU": _table(weight=["num_parameters"]),
}


def dimension_names(module: nn.Module, name: str, ndim: int) -> list[str] | None:
    """The meaning of each dimension of ``module.<name>``, or None when the type is not known."""
    for cls in type(module).__mro__:
        rule = _RULES.get(cls.__name__)
        if rule is not None:
            names = rule(module, name, ndim)
            if names is not None and len(names) == ndim:
                return names
            return None
    return None


def dimension_tooltip(module: nn.Module, name: str, shape: tuple[int, ...]) -> str:
    """``"Conv2d.weight [out_channels=6, in_channels=3, kH=5, kW=5]"``, or just the shape."""
    names = dimension_names(module, name, len(shape))
    owner = type(module).__name__
    if names is None:
        return f"{owner}.{name} [{', '.join(str(s) for s in shape)}]"
    if not names:
        return f"{owner}.{name}: a scalar"
    return f"{owner}.{name} [{', '.join(f'{n}={s}' for n, s in zip(names, shape))}]"

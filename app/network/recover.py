"""Module -> spec, for any module made of catalog types and containers.

Arguments are read back from the attributes torch keeps, then every argument that can
return to its default without changing the module does, so a network has one spec. The
result is checked by building it again: a module that does not come back identical is
reported as not representable.
"""

from __future__ import annotations

import warnings
from typing import cast

from torch import Tensor, nn
from torch.nn import functional as F

from app.errors import SpecError
from app.network.argtypes import check_value, to_json
from app.network.build import build, structure
from app.network.catalog import LayerType, catalog, type_name_of
from app.network.spec import Node, validate


def spec_from_module(module: nn.Module, path: str = "") -> Node:
    """The spec of ``module``; a SpecError names the first submodule that has none."""
    node = _recover(module, path)
    validate(node, path or "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rebuilt = build(node, device="meta")
    if fingerprint(rebuilt) != fingerprint(module):
        raise SpecError("cannot be represented: the rebuilt module differs from it", path or "model")
    return node


def _recover(module: nn.Module, path: str) -> Node:
    type_name = type_name_of(module)
    where = path or "model"
    if type_name is None:
        cls = type(module)
        raise SpecError(
            f"{cls.__module__}.{cls.__qualname__} is not a catalog type or container (its forward is custom code)",
            where,
        )
    entry = catalog()[type_name]
    node = Node(type_name, args=_recover_args(module, entry, where))
    if entry.is_sequence:
        for index, (name, child) in enumerate(module.named_children()):
            child_node = _recover(child, f"{path}.{name}" if path else name)
            child_node.name = None if name == str(index) else name
            node.children.append(child_node)
    else:
        for slot, slot_module in _slot_modules(module, type_name).items():
            if slot_module is not None:
                child_node = _recover(slot_module, f"{path}.{slot}" if path else slot)
                child_node.name = slot
                node.children.append(child_node)
    if not entry.takes_children or not entry.is_sequence:
        node.args = _minimise(node, entry, module)
    return node


def _slot_modules(module: nn.Module, type_name: str) -> dict[str, nn.Module | None]:
    # type_name is the catalog name of the module's exact class
    if type_name == "TransformerEncoder":
        encoder = cast(nn.TransformerEncoder, module)
        return {"encoder_layer": encoder.layers[0], "norm": encoder.norm}
    if type_name == "TransformerDecoder":
        decoder = cast(nn.TransformerDecoder, module)
        return {"decoder_layer": decoder.layers[0], "norm": decoder.norm}
    return {slot.name: getattr(module, slot.name, None) for slot in catalog()[type_name].slots}


def _recover_args(module: nn.Module, entry: LayerType, where: str) -> dict:
    special = SPECIAL_ARGS.get(entry.name, lambda m: {})(module)
    args = {}
    for info in entry.args:
        if info.name in special:
            value = special[info.name]
        elif hasattr(module, info.name):
            value = getattr(module, info.name)
            if value is None or isinstance(value, Tensor):
                value = value is not None if ("bool",) in info.type.forms else value
        else:
            continue
        value = to_json(value)
        if check_value(info.type, value, info.name) is not None:
            raise SpecError(f"cannot be represented: {info.name}={value!r} has no place in a file", where)
        args[info.name] = value
    return args


def _minimise(node: Node, entry: LayerType, module: nn.Module) -> dict:
    """Drop every argument whose default builds the same module."""
    target = fingerprint(module)
    args = dict(node.args)
    for info in entry.args:
        if info.required or info.name not in args:
            continue
        trial = dict(args)
        del trial[info.name]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                same = fingerprint(build(Node(node.type, trial, node.children), device="meta")) == target
        except SpecError:
            same = False
        if same:
            args = trial
    return args


def fingerprint(module: nn.Module) -> tuple:
    """The structure plus every argument torch keeps, module by module (repr hides some)."""
    kept: list[tuple[str, str, object]] = []
    for path, sub in module.named_modules():
        type_name = type_name_of(sub)
        if type_name is not None:
            try:
                kept.append((path, type_name, _recover_args(sub, catalog()[type_name], path)))
            except SpecError as error:
                kept.append((path, type_name, str(error)))
    return structure(module), tuple(repr(k) for k in kept)


def _activation_name(activation) -> str:
    for name, function in (("relu", F.relu), ("gelu", F.gelu)):
        if activation is function or type(activation).__name__.lower() == name:
            return name
    raise SpecError(f"activation {activation!r} is not 'relu' or 'gelu'")


def _scalar_if_single(shape) -> int | list[int]:
    return shape[0] if len(shape) == 1 else list(shape)


def _transformer_layer_args(layer: nn.Module) -> dict:
    # SPECIAL_ARGS calls it for exactly these two classes
    layer = cast("nn.TransformerEncoderLayer | nn.TransformerDecoderLayer", layer)
    return {
        "d_model": layer.self_attn.embed_dim,
        "nhead": layer.self_attn.num_heads,
        "dim_feedforward": layer.linear1.out_features,
        "dropout": layer.dropout.p,
        "activation": _activation_name(layer.activation),
        "layer_norm_eps": layer.norm1.eps,
        "batch_first": layer.self_attn.batch_first,
        "bias": layer.linear1.bias is not None,
    }


SPECIAL_ARGS = {
    "TransformerEncoderLayer": _transformer_layer_args,
    "TransformerDecoderLayer": _transformer_layer_args,
    "MultiheadAttention": lambda m: {"bias": m.in_proj_bias is not None, "add_bias_kv": m.bias_k is not None},
    "Unflatten": lambda m: {"unflattened_size": list(m.unflattened_size)},
    "LayerNorm": lambda m: {"normalized_shape": _scalar_if_single(m.normalized_shape)},
    "RMSNorm": lambda m: {"normalized_shape": _scalar_if_single(m.normalized_shape)},
}

"""Spec -> real ``nn.Module``: torch's own classes, so ``print(model)`` is PyTorch's own text."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from app.errors import SpecError
from app.network.argtypes import to_python
from app.network.catalog import layer_type
from app.network.spec import Node


def build(node: Node, device: str | torch.device = "cpu", where: str = "network") -> nn.Module:
    """Build the module a spec describes. On ``"meta"`` nothing is allocated.

    A constructor that refuses its arguments (a Dropout p of 1.5, an embed_dim that num_heads
    does not divide) raises a SpecError naming the node's JSON path.
    """
    with torch.device(device):
        return _build(node, where)


def _build(node: Node, where: str) -> nn.Module:
    entry = layer_type(node.type)
    if entry is None:
        raise SpecError(f"unknown layer type {node.type!r}", f"{where}.type")
    children = [_build(child, f"{where}.children[{i}]") for i, child in enumerate(node.children)]
    args = {name: to_python(value) for name, value in node.args.items()}
    try:
        if entry.is_sequence:
            module = entry.cls(**args)
            for name, child in zip(node.child_names(), children):
                module.add_module(name, child)
            return module
        # a slot's child is named after its slot: validate() checks
        slots = {cast(str, child_node.name): child for child_node, child in zip(node.children, children)}
        return entry.cls(**args, **slots)
    except Exception as error:  # torch's own argument checks, reported at the node
        raise SpecError(f"{node.type}: {_first_line(error)}", where) from error


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def structure(module: nn.Module) -> tuple:
    """What makes two modules the same network: the text and every tensor's name and shape."""
    tensors = [
        (name, tuple(t.shape), t.requires_grad) for name, t in (*module.named_parameters(), *module.named_buffers())
    ]
    return repr(module), tuple(tensors)

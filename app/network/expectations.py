"""What a module of a common family expected and did not get, in words a user can act on.

Meta kernels check less than CPU ones (a ConvTranspose's channels, a Linear fed int64), so the
analysis asks these checks first, before each module's forward, and explains torch's own error
with them when the forward fails.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _dims(shape: Any) -> str:
    if isinstance(shape, torch.Size):
        return "(" + ", ".join(str(s) for s in shape) + ")"
    return repr(shape)


def _shapes(args: tuple) -> str:
    parts = [_dims(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__ for a in args]
    return ", ".join(parts) if parts else "nothing"


class Mismatch(Exception):
    """Raised by the pre-hook when a family check already knows what the module expected."""


def expected(module: nn.Module, args: tuple, kwargs: dict) -> str | None:
    """What a module of a common family expected and did not get, or None when it looks fine."""
    # A PackedSequence first argument (or none) is not what the checks below understand.
    if not args or not isinstance(args[0], torch.Tensor):
        return None
    # The checks describe torch.nn's own forwards: a subclass with its own takes what that one takes
    # (ConvNeXt's LayerNorm2d permutes channels-first images before normalising them).
    if "forward" in vars(module) or not (getattr(type(module).forward, "__module__", "") or "").startswith("torch.nn."):
        return None
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    try:
        return _expected(module, tensors, kwargs, f"input {_shapes(args)}")
    except Exception:  # an odd module state must never hide the forward's own error
        return None


def explain(module: nn.Module, args: tuple, kwargs: dict, error: Exception) -> str:
    """The family check's text, or torch's own first line after the shapes given."""
    if isinstance(error, Mismatch):
        return str(error)
    lines = str(error).strip().splitlines()
    return f"input {_shapes(args)}: {lines[0] if lines else type(error).__name__}"


def _expected(module: nn.Module, xs: list[torch.Tensor], kwargs: dict, given: str) -> str | None:
    x = xs[0]
    weight = getattr(module, "weight", None)
    weighted = isinstance(module, nn.Linear | nn.Bilinear | nn.modules.conv._ConvNd)
    if weighted and isinstance(weight, torch.Tensor):
        wrong = next((t.dtype for t in xs if t.dtype != weight.dtype), None)
        if wrong is not None:
            return f"{given} is {_dtype(wrong)} but the weights are {_dtype(weight.dtype)}"
    if isinstance(module, nn.Embedding | nn.EmbeddingBag):
        if x.is_floating_point() or x.dtype == torch.bool:
            return f"{given} needs an integer dtype (int64 or int32), got {_dtype(x.dtype)}"
    elif isinstance(module, nn.Linear):
        if x.dim() == 0 or x.shape[-1] != module.in_features:
            return f"{given} but in_features={module.in_features}"
    elif isinstance(module, nn.Bilinear) and len(xs) == 2:
        if xs[0].shape[-1] != module.in1_features or xs[1].shape[-1] != module.in2_features:
            return f"{given} but in1_features={module.in1_features}, in2_features={module.in2_features}"
    elif isinstance(module, nn.modules.conv._ConvNd):
        return _conv(module, x, given)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm | nn.modules.instancenorm._InstanceNorm):
        return _channels(module, x, given, "num_features", module.num_features)
    elif isinstance(module, nn.GroupNorm) and module.affine:  # without weights any C divisible works
        if x.dim() < 2 or x.shape[1] != module.num_channels:
            return f"{given} has {_channel_text(x, 1)} but num_channels={module.num_channels}"
    elif isinstance(module, nn.LayerNorm | nn.RMSNorm):
        wanted = tuple(module.normalized_shape)
        if tuple(x.shape[-len(wanted) :]) != wanted or x.dim() < len(wanted):
            return f"{given} ends in {_dims(x.shape[-len(wanted) :])} but normalized_shape={wanted}"
    elif isinstance(module, nn.RNNBase):
        if x.dim() not in (2, 3):
            return f"{given} must be 2D (L, H_in) or 3D, got {x.dim()}D"
        if x.shape[-1] != module.input_size:
            return f"{given} has {x.shape[-1]} features on the last dim but input_size={module.input_size}"
    elif isinstance(module, nn.MultiheadAttention):
        return _attention(module, xs, given)
    return None


def _dtype(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _channel_text(x: torch.Tensor, dim: int) -> str:
    return f"{x.shape[dim]} channels (dim {dim})" if x.dim() > dim else f"no dim {dim}"


def _channels(module: nn.Module, x: torch.Tensor, given: str, name: str, wanted: int) -> str | None:
    # BatchNorm1d takes (N, C) or (N, C, L); the others need batch, channels and spatial dims.
    allowed = {
        "BatchNorm1d": (2, 3),
        "BatchNorm2d": (4,),
        "BatchNorm3d": (5,),
        "InstanceNorm1d": (2, 3),
        "InstanceNorm2d": (3, 4),
        "InstanceNorm3d": (4, 5),
    }.get(type(module).__name__)
    if isinstance(module, nn.modules.instancenorm._InstanceNorm) and not module.affine:
        wanted = -1  # torch only warns when an InstanceNorm without weights sees other channels
    if allowed and x.dim() not in allowed:
        dims = " or ".join(f"{d}D" for d in allowed)
        return f"{given} must be {dims}, got {x.dim()}D"
    # Instance norm accepts unbatched input, where the channels lead.
    instance = isinstance(module, nn.modules.instancenorm._InstanceNorm)
    dim = 0 if instance and allowed and x.dim() == allowed[0] else 1
    if wanted >= 0 and x.dim() > dim and x.shape[dim] != wanted:
        return f"{given} has {_channel_text(x, dim)} but {name}={wanted}"
    return None


def _conv(module: nn.modules.conv._ConvNd, x: torch.Tensor, given: str) -> str | None:
    n = len(module.kernel_size)
    if x.dim() not in (n + 1, n + 2):
        return f"{given} must be {n + 1}D (unbatched) or {n + 2}D (batched), got {x.dim()}D"
    channel_dim = x.dim() - n - 1
    if x.shape[channel_dim] != module.in_channels:
        return f"{given} has {_channel_text(x, channel_dim)} but in_channels={module.in_channels}"
    if module.transposed or isinstance(module.padding, str):
        return None
    spatial = list(x.shape[-n:])
    padded = [s + 2 * p for s, p in zip(spatial, module.padding)]
    reach = [d * (k - 1) + 1 for d, k in zip(module.dilation, module.kernel_size)]
    if any(p < r for p, r in zip(padded, reach)):
        size, padded_size, kernel = ("x".join(map(str, sizes)) for sizes in (spatial, padded, reach))
        return f"{given}: spatial size {size} (padded {padded_size}) is smaller than the kernel {kernel}"
    return None


def _attention(module: nn.MultiheadAttention, xs: list[torch.Tensor], given: str) -> str | None:
    names = ("query", "key", "value")
    wanted = (module.embed_dim, module.kdim, module.vdim)
    labels = ("embed_dim", "kdim", "vdim")
    for name, x, size, label in zip(names, xs, wanted, labels):
        if x.shape[-1] != size:
            return f"{given}: {name} has {x.shape[-1]} features on the last dim but {label}={size}"
    return None

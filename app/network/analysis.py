"""Shapes, parameter and buffer counts per layer, from a forward pass on the meta device.

Meta tensors carry shape and dtype but no storage, so a billion-parameter network is analysed
without allocating its weights or activations. The user's own module is never changed: when
its tensors are real they are swapped for meta stand-ins only for the call
(``torch.func.functional_call``), which restores them afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from app.errors import ShapeError
from app.network.build import build
from app.network.inputs import InputSpec
from app.network.spec import Node

# Containers that only hold modules: their parent iterates them, so they never run themselves.
_HOLDERS = (nn.ModuleList, nn.ModuleDict)


class LayerShapeError(ShapeError):
    """A ShapeError that also names the module's type: ``classifier.1 (Linear): input ...``."""

    def __init__(self, message: str, where: str, module_type: str) -> None:
        super().__init__(message, where)
        self.module_type = module_type

    def __str__(self) -> str:
        return f"{self.where} ({self.module_type}): {self.message}"


@dataclass
class LayerRow:
    path: str
    type: str
    input_shape: list | None
    output_shape: list | None
    params: int
    trainable_params: int
    buffers: int
    status: str  # "ok" | "not called" | "failed" | "not computed"
    calls: int
    message: str = ""

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "type": self.type,
            "input_shape": self.input_shape,
            "output_shape": self.output_shape,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "buffers": self.buffers,
            "status": self.status,
        }


@dataclass
class Analysis:
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_buffers: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0
    output_shape: list | None = None
    error: ShapeError | None = None

    def to_json(self) -> dict:
        return {
            "layers": [row.to_json() for row in self.rows],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_buffers": self.total_buffers,
            "param_bytes": self.param_bytes,
            "output_shape": self.output_shape,
            "error": str(self.error) if self.error is not None else None,
        }

    def row(self, path: str) -> LayerRow | None:
        return next((row for row in self.rows if row.path == path), None)


def analyse_spec(node: Node, inputs: list[InputSpec] | None) -> Analysis:
    return analyse(build(node, device="meta"), inputs)


def analyse(module: nn.Module, inputs: list[InputSpec] | None) -> Analysis:
    """Counts for every module and, given inputs, the shapes one meta forward pass produces."""
    named = list(module.named_modules())
    analysis = _counts(module, named)
    if inputs is None:
        for row in analysis.rows:
            row.status, row.message = "not computed", "no input shape given"
        return analysis
    recorder = _Recorder(named)
    output, error = recorder.run(module, [spec.meta_tensor() for spec in inputs])
    analysis.output_shape = shape_of(output) if error is None else None
    analysis.error = error
    recorder.fill(analysis.rows, error)
    return analysis


def _numel(tensor: torch.Tensor) -> int:
    # Lazy modules hold parameters without a shape yet: they have no size to count.
    return 0 if nn.parameter.is_lazy(tensor) else tensor.numel()


def _counts(module: nn.Module, named: list[tuple[str, nn.Module]]) -> Analysis:
    rows = []
    for path, sub in named[1:]:
        params = list(sub.parameters())
        rows.append(
            LayerRow(
                path=path,
                type=type(sub).__name__,
                input_shape=None,
                output_shape=None,
                params=sum(_numel(p) for p in params),
                trainable_params=sum(_numel(p) for p in params if p.requires_grad),
                buffers=sum(_numel(b) for b in sub.buffers()),
                status="not computed",
                calls=0,
            )
        )
    params, buffers = list(module.parameters()), list(module.buffers())
    return Analysis(
        rows=rows,
        total_params=sum(_numel(p) for p in params),
        trainable_params=sum(_numel(p) for p in params if p.requires_grad),
        total_buffers=sum(_numel(b) for b in buffers),
        param_bytes=sum(_numel(p) * p.element_size() for p in params),
        buffer_bytes=sum(_numel(b) * b.element_size() for b in buffers),
    )


def shape_of(value: Any) -> Any:
    """A tensor's shape as a list of ints; tuples and lists nest, anything else is None."""
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)):
        return [shape_of(item) for item in value]
    if isinstance(value, dict):
        return {str(key): shape_of(item) for key, item in value.items()}
    return None


def _input_shape(args: tuple, kwargs: dict) -> Any:
    # Modules called only with keywords (mha(query=q, ...)) still show what they were given.
    values = args or tuple(v for v in kwargs.values() if isinstance(v, torch.Tensor))
    if len(values) == 1:
        return shape_of(values[0])
    return [shape_of(v) for v in values] if values else None


class _Recorder:
    """Hooks on every module, a stack of the modules entered, and what each one saw."""

    def __init__(self, named: list[tuple[str, nn.Module]]) -> None:
        self.named = named
        self.path_of = {id(m): path for path, m in named}
        self.parent_of = {id(child): parent for _, parent in named for child in parent.children()}
        self.stack: list[nn.Module] = []
        self.calls: dict[int, int] = {}
        self.inputs: dict[int, Any] = {}
        self.outputs: dict[int, Any] = {}
        self.failed_path = ""
        self.failed_id: int | None = None
        self.unfinished: set[int] = set()

    def _enter(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        key = id(module)
        self.stack.append(module)
        self.calls[key] = self.calls.get(key, 0) + 1
        # A module called twice (shared, or in a loop) shows its first call.
        if key not in self.inputs:
            self.inputs[key] = _input_shape(args, kwargs)

    def _exit(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        # A forward that catches a child's error leaves that child on the stack: drop it too.
        while self.stack and self.stack.pop() is not module:
            pass
        self.outputs.setdefault(id(module), shape_of(output))

    def run(self, module: nn.Module, args: list[torch.Tensor]) -> tuple[Any, ShapeError | None]:
        handles = []
        entered_args: dict[int, tuple[tuple, dict]] = {}

        def enter(m: nn.Module, a: tuple, kw: dict) -> None:
            entered_args[id(m)] = (a, kw)
            self._enter(m, a, kw)
            # Meta kernels check less than CPU ones (a ConvTranspose's channels, a Linear fed
            # int64), so the family checks run first and catch what training would hit.
            problem = expected(m, a, kw)
            if problem:
                raise _Mismatch(problem)

        try:
            for _, sub in self.named:
                handles.append(sub.register_forward_pre_hook(enter, with_kwargs=True))
                handles.append(sub.register_forward_hook(self._exit, with_kwargs=True))
            # Factory calls inside a user's forward (torch.zeros for an RNN's h0) land on meta too.
            with torch.no_grad(), torch.device("meta"):
                return _meta_call(module, args), None
        except Exception as error:  # any failure is reported on the module at fault, not raised
            culprit = self.stack[-1] if self.stack else module
            a, kw = entered_args.get(id(culprit), (tuple(args), {}))
            return None, self._error(culprit, a, kw, error, module)
        finally:
            for handle in handles:
                handle.remove()

    def _error(self, culprit: nn.Module, args: tuple, kwargs: dict, error: Exception, root: nn.Module) -> ShapeError:
        path = "model" if culprit is root else self.path_of.get(id(culprit), "model")
        self.failed_path = path
        self.failed_id = id(culprit)
        self.unfinished = {id(m) for m in self.stack if m is not culprit}
        return LayerShapeError(explain(culprit, args, kwargs, error), path, type(culprit).__name__)

    def fill(self, rows: list[LayerRow], error: ShapeError | None) -> None:
        for (_, sub), row in zip(self.named[1:], rows):
            key = id(sub)
            row.calls = self.calls.get(key, 0)
            row.input_shape = self.inputs.get(key)
            row.output_shape = self.outputs.get(key)
            if error is not None and key == self.failed_id:
                row.status, row.message = "failed", error.message
            elif error is not None and key in self.unfinished:
                row.status = "not computed"
                row.message = f"did not finish: {self.failed_path} failed inside it"
            elif row.calls:
                row.status, row.message = "ok", ""
            elif isinstance(sub, _HOLDERS):
                row.status = "not called"
                row.message = f"{type(sub).__name__} has no forward; its parent runs its children"
            elif error is not None:
                row.status = "not computed"
                row.message = f"not reached: the forward stopped at {self.failed_path}"
            else:
                row.status, row.message = "not called", self._why_not_called(sub)

    def _why_not_called(self, module: nn.Module) -> str:
        parent = self.parent_of.get(id(module))
        if parent is None or not self.calls.get(id(parent)):
            return "its forward never ran: its parent did not run either"
        where = self.path_of.get(id(parent)) or "model"
        return f"its forward never ran: {where} ({type(parent).__name__}) uses it without calling it"


def _meta_call(module: nn.Module, args: list[torch.Tensor]) -> Any:
    tensors = [*module.named_parameters(), *module.named_buffers()]
    if all(t.is_meta for _, t in tensors):
        return module(*args)
    stand_ins = {name: torch.empty_like(t, device="meta").requires_grad_(t.requires_grad) for name, t in tensors}
    return functional_call(module, stand_ins, tuple(args))


# ---- what each family of layers expected -------------------------------------------------


def _dims(shape: Any) -> str:
    if isinstance(shape, torch.Size):
        return "(" + ", ".join(str(s) for s in shape) + ")"
    return repr(shape)


def _shapes(args: tuple) -> str:
    parts = [_dims(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__ for a in args]
    return ", ".join(parts) if parts else "nothing"


class _Mismatch(Exception):
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
    if isinstance(error, _Mismatch):
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

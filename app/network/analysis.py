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
from app.network.counting import Counts
from app.network.expectations import Mismatch, expected, explain
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
    flops: int | None = None  # forward FLOPs, submodules included; None where the forward did not finish
    activation_bytes: int | None = None  # what its forward saves for backward, each storage once

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
            "flops": self.flops,
            "activation_bytes": self.activation_bytes,
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
    total_flops: int | None = None  # None without inputs, after a failure, or when not counted
    activation_bytes: int | None = None  # saved for backward by the whole forward, each storage once
    trainable_bytes: int = 0

    def to_json(self) -> dict:
        return {
            "layers": [row.to_json() for row in self.rows],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_buffers": self.total_buffers,
            "param_bytes": self.param_bytes,
            "output_shape": self.output_shape,
            "total_flops": self.total_flops,
            "error": str(self.error) if self.error is not None else None,
        }

    def row(self, path: str) -> LayerRow | None:
        return next((row for row in self.rows if row.path == path), None)


def analyse_spec(node: Node, inputs: list[InputSpec] | None, counts: bool = True) -> Analysis:
    return analyse(build(node, device="meta"), inputs, counts)


def analyse(module: nn.Module, inputs: list[InputSpec] | None, counts: bool = True) -> Analysis:
    """Counts for every module and, given inputs, the shapes one meta forward pass produces; with
    ``counts``, that pass also counts each module's FLOPs and what autograd saves for backward."""
    named = list(module.named_modules())
    analysis = _counts(module, named)
    if inputs is None:
        for row in analysis.rows:
            row.status, row.message = "not computed", "no input shape given"
        return analysis
    recorder = _Recorder(named)
    output, error = recorder.run(module, [spec.meta_tensor() for spec in inputs], counts)
    analysis.output_shape = output if error is None else None
    analysis.error = error
    recorder.fill(analysis.rows, error)
    if recorder.counts is not None and error is None:
        analysis.total_flops = recorder.counts.total_flops
        analysis.activation_bytes = recorder.counts.saved_bytes
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
        trainable_bytes=sum(_numel(p) * p.element_size() for p in params if p.requires_grad),
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
        self.counts: Counts | None = None

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

    def run(self, module: nn.Module, args: list[torch.Tensor], counts: bool) -> tuple[Any, ShapeError | None]:
        handles = []
        entered_args: dict[int, tuple[tuple, dict]] = {}

        def enter(m: nn.Module, a: tuple, kw: dict) -> None:
            entered_args[id(m)] = (a, kw)
            self._enter(m, a, kw)
            # Meta kernels check less than CPU ones (a ConvTranspose's channels, a Linear fed
            # int64), so the family checks run first and catch what training would hit.
            problem = expected(m, a, kw)
            if problem:
                raise Mismatch(problem)

        try:
            for _, sub in self.named:
                handles.append(sub.register_forward_pre_hook(enter, with_kwargs=True))
                handles.append(sub.register_forward_hook(self._exit, with_kwargs=True))
            state = _meta_state(module)
            own = [*module.parameters(), *module.buffers()] if state is None else list(state.values())
            self.counts = Counts(self.stack, own) if counts else None
            # Factory calls inside a user's forward (torch.zeros for an RNN's h0) land on meta too.
            with self.counts.counting() if self.counts else torch.no_grad(), torch.device("meta"):
                output = module(*args) if state is None else functional_call(module, state, tuple(args))
                return shape_of(output), None  # shapes only: the saved tensors go with the graph
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
            if self.counts is not None and row.status in ("ok", "not called"):
                row.flops = self.counts.module_flops(sub)
                row.activation_bytes = self.counts.module_saved_bytes(sub)

    def _why_not_called(self, module: nn.Module) -> str:
        parent = self.parent_of.get(id(module))
        if parent is None or not self.calls.get(id(parent)):
            return "its forward never ran: its parent did not run either"
        where = self.path_of.get(id(parent)) or "model"
        return f"its forward never ran: {where} ({type(parent).__name__}) uses it without calling it"


def _meta_state(module: nn.Module) -> dict[str, torch.Tensor] | None:
    """Meta stand-ins for a module's real tensors, or None when they are all meta already."""
    tensors = [*module.named_parameters(), *module.named_buffers()]
    if all(t.is_meta for _, t in tensors):
        return None
    return {name: torch.empty_like(t, device="meta").requires_grad_(t.requires_grad) for name, t in tensors}

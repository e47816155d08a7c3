"""``nnstudio export --onnx``: the project's model as an ONNX file, checked by ``onnx.checker``.

The model is the one the project trains (its saved weights, else the seeded init) in eval
mode, traced with the project's input shapes (``inputs``): the file takes exactly those
shapes. ``onnx`` and ``onnxscript`` are an optional extra, ``pip install "nnstudio[onnx]"``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch

from app.errors import NNStudioError
from app.network.inputs import InputSpec
from app.project.project_file import Project
from app.project.weights import copier, write_files
from app.training.prepare import make_model

EXTERNAL_DATA_BYTES = 1_800_000_000
EXTRA_HINT = 'ONNX export needs the onnx and onnxscript packages: pip install "nnstudio[onnx]"'


def require_onnx(where: str = "--onnx"):
    """The ``onnx`` module, or an NNStudioError that says which extra to install."""
    try:
        import onnx

        importlib.import_module("onnxscript")  # torch.onnx.export needs it
    except ImportError as error:
        missing = getattr(error, "name", None) or "onnx"
        raise NNStudioError(f"{EXTRA_HINT} ({missing} is not installed)", where) from None
    return onnx


def example_inputs(specs: list[InputSpec]) -> tuple[torch.Tensor, ...]:
    """One tensor per input: random floats, zeros for integer ids and masks (valid for any embedding)."""
    generator = torch.Generator().manual_seed(0)
    tensors = []
    for spec in specs:
        if spec.torch_dtype.is_floating_point:
            tensors.append(torch.randn(spec.shape, generator=generator).to(spec.torch_dtype))
        else:
            tensors.append(torch.zeros(spec.shape, dtype=spec.torch_dtype))
    return tuple(tensors)


def export_onnx(project: Project, path: str | os.PathLike, model: torch.nn.Module | None = None) -> Path:
    """Write the model as ONNX to ``path`` and check it; returns the path.

    ``model`` is the module to export instead of the project's own (the desktop app passes its
    current, possibly trained, one); it is put in eval mode, so pass a copy you can spare."""
    onnx = require_onnx()
    path = Path(path)
    model = make_model(project) if model is None else model
    model.eval()  # inference: dropout off, batch norm on its running statistics (pinned modules keep their mode)
    inputs = example_inputs(project.inputs)
    try:
        with torch.no_grad():
            outputs = _count_tensors(model(*inputs))
    except Exception as error:  # the network does not fit its inputs: `nnstudio summary` names the layer
        raise NNStudioError(f"the model cannot run on the project's inputs: {_first_line(error)}", "inputs") from error
    # Protobuf caps a file at 2 GB: a bigger model keeps its tensors in a data file beside it.
    external = sum(t.numel() * t.element_size() for t in model.state_dict().values()) > EXTERNAL_DATA_BYTES
    # Exported and checked in a scratch folder, then put in place: a failure leaves no half-written file.
    with tempfile.TemporaryDirectory(prefix="nnstudio-onnx-") as folder:
        temp = Path(folder) / path.name
        try:
            with _quiet():
                torch.onnx.export(
                    model,
                    inputs,
                    str(temp),
                    input_names=_names("input", len(inputs)),
                    output_names=_names("output", outputs),
                    dynamo=True,
                    external_data=external,
                    verbose=False,
                )
        except Exception as error:  # the exporter's own failures: an operator ONNX lacks, a traced shape
            raise NNStudioError(f"torch.onnx.export failed: {_first_line(error)}", "--onnx") from error
        try:
            onnx.checker.check_model(str(temp))
        except Exception as error:
            problem = _first_line(error)
            raise NNStudioError(f"the exported file does not pass onnx.checker: {problem}", "--onnx") from error
        # The data file (if any) goes in place before the model that refers to it.
        extra = sorted(item for item in Path(folder).iterdir() if item != temp)
        write_files([(path.parent / item.name, copier(item)) for item in [*extra, temp]])
    return path


@contextlib.contextmanager
def _quiet():
    """The exporter prints progress and warnings about torchvision; the CLI prints its own line."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _count_tensors(value) -> int:
    """How many tensors a forward returns: one, or those in its (nested) tuple, as ONNX outputs."""
    if isinstance(value, torch.Tensor):
        return 1
    if isinstance(value, (tuple, list)):
        return sum(_count_tensors(item) for item in value)
    if isinstance(value, dict):
        return sum(_count_tensors(item) for item in value.values())
    return 0


def _names(base: str, count: int) -> list[str]:
    return [base] if count == 1 else [f"{base}{i}" for i in range(count)]


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__

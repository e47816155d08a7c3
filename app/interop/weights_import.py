"""Weights from a safetensors file into a model or a project, with a report of what does not fit.

``load_state_dict`` stops at the first tensor of the wrong shape, and with ``strict=False`` it
loads whatever it can and says little. Here the whole file is checked first
(:func:`check_weights`): missing keys, unexpected keys, shape mismatches and dtypes. When the
check is not clean nothing is loaded, unless a partial load is asked for; then exactly the
matching tensors are. Keys saved from a ``DataParallel`` (``module.``) or a ``torch.compile``
(``_orig_mod.``) model are recognised and the prefix is stripped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from app.errors import NNStudioError
from app.project import weights as weight_files
from app.project.project_file import Project, weights_file_name

WRAPPER_PREFIXES = ("module.", "_orig_mod.")
SHOWN = 5  # keys named per kind of problem in an error message
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")


class WeightsError(NNStudioError):
    """A weights file does not fit the network; ``report`` says exactly how."""

    def __init__(self, message: str, where: str = "", report: WeightsReport | None = None) -> None:
        super().__init__(message, where)
        self.report = report


@dataclass(frozen=True)
class ShapeMismatch:
    name: str
    expected: tuple[int, ...]
    got: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.name} (expected {list(self.expected)}, got {list(self.got)})"


@dataclass(frozen=True)
class DtypeIssue:
    """A tensor whose dtype differs from the model's. ``fatal`` when the kinds differ (a float
    into an integer buffer); a change of precision (float64 -> float32) is converted."""

    name: str
    expected: str
    got: str
    fatal: bool

    def __str__(self) -> str:
        return f"{self.name} (expected {self.expected}, got {self.got})"


@dataclass
class WeightsReport:
    matched: list[str] = field(default_factory=list)  # model keys the file fits exactly
    missing: list[str] = field(default_factory=list)  # in the model, not in the file
    unexpected: list[str] = field(default_factory=list)  # in the file, not in the model
    shape_mismatches: list[ShapeMismatch] = field(default_factory=list)
    dtype_issues: list[DtypeIssue] = field(default_factory=list)
    stripped_prefix: str = ""  # "module." when the file came from DataParallel
    loaded: list[str] = field(default_factory=list)  # what was actually copied into the model
    model: nn.Module | None = field(default=None, repr=False, compare=False)

    @property
    def dtype_mismatches(self) -> list[DtypeIssue]:
        return [issue for issue in self.dtype_issues if issue.fatal]

    @property
    def conversions(self) -> list[DtypeIssue]:
        return [issue for issue in self.dtype_issues if not issue.fatal]

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.shape_mismatches or self.dtype_mismatches)

    def problems(self) -> list[str]:
        """One phrase per kind of problem, naming the first few keys and the count."""
        kinds = (
            ("missing from the file", self.missing),
            ("not in the network", self.unexpected),
            ("of the wrong shape", self.shape_mismatches),
            ("of the wrong dtype", self.dtype_mismatches),
        )
        return [f"{_count(items)} {label}: {_first(items)}" for label, items in kinds if items]

    def lines(self) -> list[str]:
        """The report as text, one line per fact."""
        lines = [f"{_count(self.matched)} fit the network"]
        if self.stripped_prefix:
            lines.append(
                f"the prefix {self.stripped_prefix!r} (DataParallel / torch.compile) was stripped from every key"
            )
        lines += self.problems()
        if self.conversions:
            lines.append(f"{_count(self.conversions)} converted to the network's dtype: {_first(self.conversions)}")
        return lines


def check_weights(model: nn.Module, tensors: dict[str, Tensor]) -> WeightsReport:
    """Compare a file's tensors with the model's state_dict; changes nothing."""
    tensors, prefix = strip_wrapper_prefix(tensors, model)
    expected = model.state_dict()
    report = WeightsReport(stripped_prefix=prefix, model=model)
    for name, target in expected.items():
        if name not in tensors:
            report.missing.append(name)
            continue
        source = tensors[name]
        if tuple(source.shape) != tuple(target.shape):
            report.shape_mismatches.append(ShapeMismatch(name, tuple(target.shape), tuple(source.shape)))
            continue
        if source.dtype != target.dtype:
            issue = DtypeIssue(
                name,
                _dtype_name(target.dtype),
                _dtype_name(source.dtype),
                _dtype_kind(source.dtype) != _dtype_kind(target.dtype),
            )
            report.dtype_issues.append(issue)
            if issue.fatal:
                continue
        report.matched.append(name)
    report.unexpected = [name for name in tensors if name not in expected]
    return report


def strip_wrapper_prefix(tensors: dict[str, Tensor], model: nn.Module) -> tuple[dict[str, Tensor], str]:
    """The tensors without a ``module.`` (or ``_orig_mod.``) prefix every key has and the model's do not."""
    names = list(model.state_dict().keys())
    stripped = ""
    while tensors:
        prefix = next((p for p in WRAPPER_PREFIXES if all(key.startswith(p) for key in tensors)), None)
        if prefix is None or (names and all(name.startswith(prefix) for name in names)):
            break
        tensors = {key[len(prefix) :]: value for key, value in tensors.items()}
        stripped += prefix
    return tensors, stripped


def load_weights_into(target: Project | nn.Module, path: str | os.PathLike, partial: bool = False) -> WeightsReport:
    """Load a safetensors file into a model, or into a project's model (:func:`set_project_weights`).

    When the file does not fit exactly, nothing is loaded and a WeightsError names the keys at
    fault, unless ``partial``: then exactly the matching tensors are loaded. ``report.model`` is
    the module that received them.
    """
    if isinstance(target, Project):
        return set_project_weights(target, path, partial)
    if not isinstance(target, nn.Module):
        raise NNStudioError(f"weights go into a project or an nn.Module, not {type(target).__name__}", "weights")
    tensors = read_weights_file(path)
    return apply_weights(target, tensors, partial, str(path))


def apply_weights(model: nn.Module, tensors: dict[str, Tensor], partial: bool, where: str = "weights") -> WeightsReport:
    """Check, then load all (clean) or only the matching tensors (``partial``) into ``model``."""
    report = check_weights(model, tensors)
    if not report.clean and not partial:
        raise WeightsError(
            "the weights do not fit the network, so none were loaded: "
            + "; ".join(report.problems())
            + " (load only the matching tensors with a partial load: --partial)",
            where,
            report,
        )
    if not report.matched and tensors:
        raise WeightsError("none of the file's tensors fit the network: " + "; ".join(report.problems()), where, report)
    stripped, _ = strip_wrapper_prefix(tensors, model)
    chosen = {name: stripped[name] for name in report.matched}
    if any(t.is_meta for t in model.state_dict().values()):
        raise NNStudioError("the model is on the meta device and has no storage to load weights into", where)
    with torch.no_grad():
        model.load_state_dict(chosen, strict=False)
    report.loaded = list(chosen)
    return report


def set_project_weights(project: Project, path: str | os.PathLike, partial: bool = False) -> WeightsReport:
    """Build the project's model, load the file into it and mark the project as having weights,
    so that saving it (``save_project(project, file, report.model.state_dict())``, or the desktop
    app's Save once the model is the session's) writes them beside the project.

    A partial load keeps the project's current values (its saved weights, or its init rules) for
    the tensors the file does not fit.
    """
    from app.training.prepare import make_model  # training imports the whole run setup: only when needed

    tensors = read_weights_file(path)
    model = make_model(project, use_weights=partial)
    report = apply_weights(model, tensors, partial, str(path))
    if project.weights is None:
        # the name saving picks; saving always names the file after the project file it writes
        project.weights = weights_file_name(Path(project.path)) if project.path else "weights.safetensors"
    return report


def read_weights_file(path: str | os.PathLike) -> dict[str, Tensor]:
    """A safetensors file's tensors. Pickled checkpoints are refused: loading them runs code."""
    path = Path(path)
    try:
        return weight_files.load(path, str(path))
    except NNStudioError as error:
        if path.suffix.lower() in PICKLE_SUFFIXES and path.is_file():
            raise NNStudioError(
                f"{error.message}. nnstudio reads safetensors only (a {path.suffix} file is a pickle, and "
                'unpickling runs code); convert a file you trust with: python -c "import torch; '
                "from safetensors.torch import save_file; "
                f"save_file(torch.load('{path.name}', weights_only=True), '{path.stem}.safetensors')\"",
                error.where,
            ) from None
        raise


def _dtype_kind(dtype: torch.dtype) -> str:
    if dtype.is_complex:
        return "complex"
    if dtype.is_floating_point:
        return "float"
    return "bool" if dtype is torch.bool else "int"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _count(items: list) -> str:
    return f"{len(items)} tensor{'' if len(items) == 1 else 's'}"


def _first(items: list) -> str:
    shown = ", ".join(str(item) for item in items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


__all__ = [
    "WeightsError",
    "ShapeMismatch",
    "DtypeIssue",
    "WeightsReport",
    "check_weights",
    "strip_wrapper_prefix",
    "load_weights_into",
    "apply_weights",
    "set_project_weights",
    "read_weights_file",
]

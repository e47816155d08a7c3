"""The project document (``.nnproj``): a network, the inputs it is analysed with, and settings.

A project file is JSON, read without running code or unpickling; weights live in a
safetensors file beside it. Loading validates everything and every failure is one
:class:`ProjectError` or :class:`SpecError` whose ``where`` is the JSON path at fault.
Saving is atomic: the old file stays whole until the new one is complete on disk.
"""

from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from app.errors import NNStudioError, ProjectError, SpecError
from app.network.build import build
from app.network.inputs import InputSpec
from app.network.python_network import PythonNetwork
from app.network.spec import Node
from app.project import weights as weight_files
from app.project.jsondoc import decode_json, encode_json
from app.project.migrations import FORMAT, VERSION, migrate
from app.project.values import (
    check_device,
    check_freeze,
    check_inputs,
    check_probes,
    check_section,
    check_text,
    check_weights_name,
)
from app.setup.initializers import parse_init
from app.setup.modes import parse_mode
from app.setup.optim import parse_optimizer
from app.setup.schedulers import parse_scheduler
from app.setup.training_section import parse_training

__all__ = [
    "FORMAT",
    "VERSION",
    "Project",
    "parse_project",
    "load_project",
    "save_project",
    "load_weights",
    "project_bytes",
]

SUFFIX = ".nnproj"
KEYS = (
    "format",
    "version",
    "name",
    "description",
    "inputs",
    "device",
    "mode",
    "init",
    "freeze",
    "optimizer",
    "scheduler",
    "training",
    "probes",
    "weights",
    "network",
)
REQUIRED = ("format", "version", "inputs", "network")
# Roughly the number of modules building the network creates (a 1024-layer TransformerEncoder
# is 1024 copies of its layer): bounded so that a file cannot make loading take minutes.
MAX_BUILD_COST = 12_000


def _default_init() -> dict:
    return {"seed": 0, "rules": []}


def _default_mode() -> dict:
    return {"training": True, "overrides": {}}


def _default_probes() -> dict:
    return {"modules": [], "every": 10}


@dataclass
class Project:
    network: Node | PythonNetwork  # a spec, or the user's own Python code
    inputs: list[InputSpec]
    name: str = "untitled"
    description: str = ""
    optimizer: dict | None = None
    scheduler: dict | None = None
    init: dict = field(default_factory=_default_init)
    freeze: list = field(default_factory=list)
    device: str = "cpu"
    mode: dict = field(default_factory=_default_mode)
    training: dict | None = None
    probes: dict = field(default_factory=_default_probes)
    weights: str | None = None
    path: Path | None = field(default=None, compare=False)
    # The user's consent to run a Python network's code (--allow-code, or the window's question):
    # never saved, so a file alone can never make nnstudio run code.
    code_allowed: bool = field(default=False, compare=False, repr=False)

    def to_json(self) -> dict:
        """The document as written to disk, keys in a stable order (``path`` is not part of it)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "description": self.description,
            "inputs": [spec.to_json() for spec in self.inputs],
            "device": self.device,
            "mode": copy.deepcopy(self.mode),
            "init": copy.deepcopy(self.init),
            "freeze": copy.deepcopy(self.freeze),
            "optimizer": copy.deepcopy(self.optimizer),
            "scheduler": copy.deepcopy(self.scheduler),
            "training": copy.deepcopy(self.training),
            "probes": copy.deepcopy(self.probes),
            "weights": self.weights,
            "network": self.network.to_json(),
        }

    def weights_path(self) -> Path | None:
        """Where the weights file is: beside the project file."""
        if self.weights is None or self.path is None:
            return None
        return Path(self.path).parent / self.weights


def parse_project(data: object) -> Project:
    """A project from a parsed JSON value (any supported version); validates everything."""
    data = migrate(data)
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        raise ProjectError(f"unknown key (a project has {', '.join(KEYS)})", str(unknown[0])[:80])
    for key in REQUIRED:
        if key not in data:
            raise ProjectError("missing (every project has one)", key)
    try:
        project = Project(
            network=parse_network(data["network"]),
            inputs=check_inputs(data["inputs"]),
            name=check_text(data.get("name", "untitled"), "name"),
            description=check_text(data.get("description", ""), "description"),
            optimizer=check_section(data.get("optimizer"), parse_optimizer, "optimizer"),
            scheduler=check_section(data.get("scheduler"), parse_scheduler, "scheduler"),
            init=parse_init(data.get("init", _default_init())).to_json(),
            freeze=check_freeze(data.get("freeze", [])),
            device=check_device(data.get("device", "cpu")),
            mode=parse_mode(data.get("mode", _default_mode())),
            training=check_section(data.get("training"), parse_training, "training"),
            probes=check_probes(data.get("probes", _default_probes())),
            weights=check_weights_name(data.get("weights"), "weights"),
        )
    except (ProjectError, SpecError):
        raise
    except NNStudioError as error:  # a section parser's error: one family for a file's problems
        raise ProjectError(error.message, error.where) from error
    return project


SECTION_PARSERS = {
    "name": lambda v: check_text(v, "name"),
    "description": lambda v: check_text(v, "description"),
    "inputs": lambda v: check_inputs(v),
    "optimizer": lambda v: check_section(v, parse_optimizer, "optimizer"),
    "scheduler": lambda v: check_section(v, parse_scheduler, "scheduler"),
    "init": lambda v: parse_init(v).to_json(),
    "freeze": lambda v: check_freeze(v),
    "device": lambda v: check_device(v),
    "mode": lambda v: parse_mode(v),
    "training": lambda v: check_section(v, parse_training, "training"),
    "probes": lambda v: check_probes(v),
}


def parse_section(name: str, value: Any) -> Any:
    """One section other than the network, validated and canonical (for undoable section edits)."""
    if name not in SECTION_PARSERS:
        raise ProjectError(f"not an editable section (those are {', '.join(SECTION_PARSERS)})", name)
    try:
        return SECTION_PARSERS[name](copy.deepcopy(value))
    except (ProjectError, SpecError):
        raise
    except NNStudioError as error:
        raise ProjectError(error.message, error.where) from error


def parse_network(data: Any, where: str = "network") -> Node | PythonNetwork:
    """A Python network (checked, never run), or a spec validated and built on the meta device so
    that constructor refusals show here."""
    if isinstance(data, dict) and "python" in data:
        return PythonNetwork.from_json(data, where)
    node = Node.from_json(data, where)
    cost = build_cost(node)
    if cost > MAX_BUILD_COST:
        raise SpecError(
            f"building this network would create about {cost} modules; at most {MAX_BUILD_COST} are allowed",
            where,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build(node, device="meta", where=where)
    except NNStudioError:
        raise
    except Exception as error:  # a constructor failing outside build's own net
        raise SpecError(f"cannot be built: {type(error).__name__}: {error}"[:300], where) from error
    return node


def build_cost(node: Node) -> int:
    """About how many modules (and RNN layers) building ``node`` creates."""
    children = sum(build_cost(child) for child in node.children)
    layers = node.args.get("num_layers", 1)
    if node.type in ("TransformerEncoder", "TransformerDecoder"):
        return 1 + children * max(layers, 1)
    if node.type in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        return 12 + children
    if node.type in ("RNN", "GRU", "LSTM"):
        return 1 + layers * (2 if node.args.get("bidirectional") else 1)
    if node.type == "MultiheadAttention":
        return 2
    return 1 + children


def project_bytes(project: Project) -> bytes:
    """The exact bytes ``save_project`` writes for ``project``."""
    return encode_json(project.to_json())


def load_project(path: str | os.PathLike) -> Project:
    """Read, migrate and validate a project file. Nothing in it is ever executed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ProjectError(f"cannot be read: {error.strerror or error}", str(path)) from None
    project = parse_project(decode_json(data, str(path)))
    project.path = path
    return project


def save_project(project: Project, path: str | os.PathLike, state_dict: dict[str, Tensor] | None = None) -> None:
    """Write the project (and, given ``state_dict``, its weights beside it) atomically.

    The weights are written first and the project that names them last, so a crash never
    leaves a project pointing at half a weights file. On failure a ProjectError is raised and
    the previous files are untouched; ``project`` is updated (path, weights) only on success.
    """
    path = Path(path)
    if path.is_dir():
        raise ProjectError("is a folder, not a file", str(path))
    try:
        document = project.to_json()
        if isinstance(project.network, PythonNetwork):  # the code stays where it is: point at it from there
            folder = Path(project.path).parent if project.path is not None else None
            document["network"] = project.network.relative_to(folder, path.parent).to_json()
    except RecursionError:
        raise ProjectError("cannot be saved: a section is nested too deeply", str(path)) from None
    files: list = []
    weights_name = project.weights
    if state_dict is not None:
        weights_name = weights_file_name(path)
        tensors = weight_files.prepare_tensors(state_dict)
        files.append((path.parent / weights_name, weight_files.writer(tensors)))
    elif project.weights is not None and project.path is not None:
        copied = _carry_weights(project, path)
        if copied is not None:
            weights_name, writer = copied
            files.append((path.parent / weights_name, writer))
    document["weights"] = weights_name
    try:
        data = encode_json(document)
    except NNStudioError as error:
        raise ProjectError(f"cannot be saved: {error.message}", error.where) from None
    files.append((path, lambda temp: temp.write_bytes(data)))
    weight_files.write_files(files)
    if isinstance(project.network, PythonNetwork):
        project.network = PythonNetwork.from_json(document["network"])
    project.path = path
    project.weights = weights_name


def weights_file_name(project_path: Path) -> str:
    name = f"{project_path.stem}.safetensors"
    return name if name != project_path.name else f"{project_path.name}.weights.safetensors"


def _carry_weights(project: Project, path: Path):
    """Saving elsewhere ("save as") takes the weights file along, so the copy is complete."""
    source = project.weights_path()
    if source is None or Path(path).parent.resolve() == source.parent.resolve() or not source.is_file():
        return None
    name = weights_file_name(path)
    return name, weight_files.copier(source)


def load_weights(project: Project) -> dict[str, Tensor] | None:
    """The tensors in the project's weights file (beside the project file), or None if it has none."""
    if project.weights is None:
        return None
    check_weights_name(project.weights, "weights")
    path = project.weights_path()
    if path is None:
        raise ProjectError("the project has not been saved, so its weights file has no folder", "weights")
    return weight_files.load(path, "weights")

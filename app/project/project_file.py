"""The project document (``.nnproj``): a network, the inputs it is analysed with, and settings.

A project file is JSON, read without running code or unpickling; weights live in a
safetensors file beside it. Loading validates everything and every failure is one
:class:`ProjectError` or :class:`SpecError` whose ``where`` is the JSON path at fault.
Saving is atomic: the old file stays whole until the new one is complete on disk.
"""

from __future__ import annotations

import copy
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from app.errors import NNStudioError, ProjectError, SpecError
from app.network.build import build
from app.network.inputs import InputSpec, check_dtype, check_shape
from app.network.spec import Node
from app.project import weights as weight_files
from app.project.jsondoc import decode_json, encode_json
from app.project.migrations import FORMAT, VERSION, migrate
from app.setup.initializers import parse_init
from app.setup.modes import parse_mode
from app.setup.optim import parse_optimizer
from app.setup.schedulers import parse_scheduler
from app.setup.selectors import parse_selector
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
MAX_INPUTS = 16
MAX_PROBE_EVERY = 1_000_000
# Roughly the number of modules building the network creates (a 1024-layer TransformerEncoder
# is 1024 copies of its layer): bounded so that a file cannot make loading take minutes.
MAX_BUILD_COST = 12_000
DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d{1,3})?|dp:\d{1,3}(,\d{1,3})*")


def _default_init() -> dict:
    return {"seed": 0, "rules": []}


def _default_mode() -> dict:
    return {"training": True, "overrides": {}}


def _default_probes() -> dict:
    return {"modules": [], "every": 10}


@dataclass
class Project:
    network: Node
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
            inputs=_inputs(data["inputs"]),
            name=_text(data.get("name", "untitled"), "name"),
            description=_text(data.get("description", ""), "description"),
            optimizer=_section(data.get("optimizer"), parse_optimizer, "optimizer"),
            scheduler=_section(data.get("scheduler"), parse_scheduler, "scheduler"),
            init=parse_init(data.get("init", _default_init())).to_json(),
            freeze=_freeze(data.get("freeze", [])),
            device=_device(data.get("device", "cpu")),
            mode=parse_mode(data.get("mode", _default_mode())),
            training=_section(data.get("training"), parse_training, "training"),
            probes=_probes(data.get("probes", _default_probes())),
            weights=_weights_name(data.get("weights"), "weights"),
        )
    except (ProjectError, SpecError):
        raise
    except NNStudioError as error:  # a section parser's error: one family for a file's problems
        raise ProjectError(error.message, error.where) from error
    return project


SECTION_PARSERS = {
    "name": lambda v: _text(v, "name"),
    "description": lambda v: _text(v, "description"),
    "inputs": lambda v: _inputs(v),
    "optimizer": lambda v: _section(v, parse_optimizer, "optimizer"),
    "scheduler": lambda v: _section(v, parse_scheduler, "scheduler"),
    "init": lambda v: parse_init(v).to_json(),
    "freeze": lambda v: _freeze(v),
    "device": lambda v: _device(v),
    "mode": lambda v: parse_mode(v),
    "training": lambda v: _section(v, parse_training, "training"),
    "probes": lambda v: _probes(v),
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


def parse_network(data: Any, where: str = "network") -> Node:
    """Validate a network spec and build it on the meta device, so constructor refusals show here."""
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
    _weights_name(project.weights, "weights")
    if project.path is None:
        raise ProjectError("the project has not been saved, so its weights file has no folder", "weights")
    return weight_files.load(project.weights_path(), "weights")


# Sections ---------------------------------------------------------------------------------


def _inputs(value: Any) -> list[InputSpec]:
    if not isinstance(value, list) or not value:
        raise ProjectError(f"must be a non-empty list of inputs, got {_kind(value)}", "inputs")
    if len(value) > MAX_INPUTS:
        raise ProjectError(f"must hold at most {MAX_INPUTS} inputs, got {len(value)}", "inputs")
    specs = []
    for i, item in enumerate(value):
        where = f"inputs[{i}]"
        _keys(item, where, ("shape", "dtype"), required=("shape",))
        try:
            shape = check_shape(item["shape"], f"{where}.shape")
            dtype = check_dtype(_dtype_text(item.get("dtype", "float32"), f"{where}.dtype"), f"{where}.dtype")
        except NNStudioError as error:
            raise ProjectError(error.message, error.where) from None
        specs.append(InputSpec(shape, dtype))
    return specs


def _dtype_text(value: Any, where: str) -> str:
    # check_dtype looks the value up in a dict, which a list or an object cannot be
    if not isinstance(value, str):
        raise ProjectError(f'must be a dtype name such as "float32", got {_kind(value)}', where)
    return value


def _probes(value: Any) -> dict:
    _keys(value, "probes", ("modules", "every"))
    modules = _strings(value.get("modules", []), "probes.modules")
    every = value.get("every", 10)
    if not _is_int(every) or not 1 <= every <= MAX_PROBE_EVERY:
        raise ProjectError(f"must be an integer from 1 to {MAX_PROBE_EVERY}, got {_show(every)}", "probes.every")
    return {"modules": modules, "every": every}


def _device(value: Any) -> str:
    if not isinstance(value, str) or not DEVICE_PATTERN.fullmatch(value):
        raise ProjectError(f'must be "cpu", "cuda:N" or "dp:N,M,...", got {_show(value)}', "device")
    return value


def _weights_name(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProjectError(f"must be a file name or null, got {_kind(value)}", where)
    if (
        not value
        or value in (".", "..")
        or "/" in value
        or "\\" in value
        or "\0" in value
        or ":" in value
        or value != value.strip()
        or len(value) > 255
    ):
        raise ProjectError(
            f"must be the plain name of a file beside the project (no folders), got {_show(value)}", where
        )
    return value


def _section(value: Any, parse, where: str) -> dict | None:
    """A later section, validated by its own parser and kept in its canonical JSON form."""
    return None if value is None else parse(value, where).to_json()


def _freeze(value: Any) -> list:
    if not isinstance(value, list):
        raise ProjectError(f"must be a list of selectors, got {_kind(value)}", "freeze")
    return [parse_selector(item, f"freeze[{i}]").to_json() for i, item in enumerate(value)]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ProjectError(f"must be a string, got {_kind(value)}", where)
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise ProjectError(f"must be a list of strings, got {_kind(value)}", where)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ProjectError(f"must be a string, got {_kind(item)}", f"{where}[{i}]")
    return list(value)


def _keys(value: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    if not isinstance(value, dict):
        raise ProjectError(f"must be an object, got {_kind(value)}", where)
    for key in value:
        if key not in allowed:
            raise ProjectError(f"unknown key (expected {', '.join(allowed)})", f"{where}.{key}"[:120])
    for key in required:
        if key not in value:
            raise ProjectError("missing", f"{where}.{key}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )

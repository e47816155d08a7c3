"""Shared helpers for the project-file tests."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from app.errors import NNStudioError
from app.network.inputs import InputSpec
from app.network.python_network import PythonNetwork
from app.network.spec import container, layer
from app.project.project_file import Project, load_project, parse_project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.nnproj"))
SPEC_EXAMPLE_FILES = [p for p in EXAMPLE_FILES if '"python":' not in p.read_text()]  # built from the palette


def allowed_example(path: Path) -> Project:
    """An example loaded with consent to run its Python network; skipped when its package is missing."""
    project = load_project(path)
    network = project.network
    if isinstance(network, PythonNetwork) and not network.is_file:
        package = network.target.split(":")[0].split(".")[0]
        try:
            importlib.import_module(package)
        except Exception as error:  # missing, or installed without a working build for this torch
            pytest.skip(f"{package} cannot be imported here: {type(error).__name__}: {error}")
    project.code_allowed = True
    return project


def small_project() -> Project:
    network = container(
        "Sequential",
        layer("Linear", in_features=3, out_features=4),
        layer("ReLU"),
        layer("Linear", name="head", in_features=4, out_features=2),
    )
    return Project(network, [InputSpec([2, 3])], name="small", description="for tests")


def document() -> dict:
    return small_project().to_json()


def error_for(data) -> NNStudioError:
    with pytest.raises(NNStudioError) as info:
        parse_project(data)
    return info.value


def error_for_bytes(tmp_path: Path, data: bytes) -> NNStudioError:
    path = tmp_path / "bad.nnproj"
    path.write_bytes(data)
    with pytest.raises(NNStudioError) as info:
        load_project(path)
    return info.value

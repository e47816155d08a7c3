"""Shared helpers for the project-file tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import NNStudioError
from app.network.inputs import InputSpec
from app.network.spec import container, layer
from app.project.project_file import Project, load_project, parse_project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.nnproj"))


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

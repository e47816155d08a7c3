"""The project's network as a module: a spec built into torch classes, or the user's Python code
run, which needs the user's consent first (``project.code_allowed``: ``--allow-code`` on the
command line, the window's question).

Everything downstream (analysis, groups, init, probes, training, export) takes the module this
returns and does not care which kind of network it came from.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from app.errors import CodeNotAllowedError
from app.network.build import build
from app.network.python_network import PythonNetwork
from app.project.project_file import Project

ALLOW_CODE_FLAG = "--allow-code"


def project_folder(project: Project) -> Path | None:
    """Where a Python network's relative file is looked up: the project file's folder."""
    return Path(project.path).parent.resolve() if project.path is not None else None


def python_network(project: Project) -> PythonNetwork | None:
    return project.network if isinstance(project.network, PythonNetwork) else None


def code_location(project: Project) -> str | None:
    """The folder (or module) whose code building this project runs; None for a spec network."""
    network = python_network(project)
    return None if network is None else network.code_location(project_folder(project))


def check_code_allowed(project: Project) -> None:
    """Raise CodeNotAllowedError, naming the file and the flag, unless the user allowed the code."""
    network = python_network(project)
    if network is None or project.code_allowed:
        return
    file = network.source_file(project_folder(project))
    shown = f"{file} ({network.name})" if file is not None else network.target
    raise CodeNotAllowedError(
        f"the network is Python code, {shown}, and building it runs that code: "
        f"run again with {ALLOW_CODE_FLAG} to allow it",
        "network.python",
    )


def build_network(project: Project, device: str = "meta") -> nn.Module:
    """The project's network as a fresh module on ``device`` ("meta": nothing allocated).

    A Python network's file is imported afresh each time, so an edited file is what runs. Code
    that needs real values while it builds falls back to the CPU (the module's parameters say so).
    """
    network = project.network
    if isinstance(network, PythonNetwork):
        check_code_allowed(project)
        return network.load(project_folder(project), device=device)
    return build(network, device=device)

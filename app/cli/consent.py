"""``--allow-code``: the command line's consent to run a project's Python network.

Loading a project never runs code; building a Python network does, so every command that builds
one (summary, train, export, weights) takes the flag, and without it stops with one line that
names the file and the flag (:func:`app.project.network_module.check_code_allowed`).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.project.project_file import Project

FLAG = "--allow-code"  # the flag the refusal names (app.project.network_module.ALLOW_CODE_FLAG); no torch import here


def add_allow_code_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        FLAG,
        action="store_true",
        help="run the project's network code when the network is Python (it never runs without this)",
    )


def load_project_with_consent(path: str | os.PathLike, args: argparse.Namespace) -> Project:
    from app.project.project_file import load_project

    project = load_project(path)
    project.code_allowed = bool(getattr(args, "allow_code", False))
    return project

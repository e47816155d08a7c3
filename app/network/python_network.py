"""A network written in Python: ``{"python": "net.py:Net", "kwargs": {"width": 64}}`` in a project.

``python`` names a file relative to the project's folder (``models/net.py:Net``) or an importable
module (``torchvision.models:resnet18``), and a class, a factory function or a module-level
instance in it; ``kwargs`` (optional) go to the class or factory. Reading and validating this
never runs code: only :meth:`PythonNetwork.load` does, and callers ask the user first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from app.errors import ModelLoadError, SpecError
from app.network.usermodel import TARGET_FORMS, is_file_target, load_user_model, split_target

KEYS = ("python", "kwargs")


@dataclass(frozen=True)
class PythonNetwork:
    target: str  # as written in the project: "net.py:Net", "models/net.py:make", "torchvision.models:resnet18"
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object, where: str = "network") -> PythonNetwork:
        if not isinstance(data, dict) or "python" not in data:
            raise SpecError('must be an object {"python": "FILE.py:NAME", "kwargs": {...}}', where)
        unknown = [key for key in data if key not in KEYS]
        if unknown:
            raise SpecError(f"unknown key (a Python network has {', '.join(KEYS)})", f"{where}.{unknown[0]}"[:120])
        target = data["python"]
        if not isinstance(target, str):
            raise SpecError(f"must be a string like net.py:Net ({TARGET_FORMS})", f"{where}.python")
        try:
            split_target(target)
        except ModelLoadError as error:
            raise SpecError(error.message, f"{where}.python") from None
        kwargs = data.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise SpecError('must be an object of keyword arguments, like {"width": 64}', f"{where}.kwargs")
        return cls(target, dict(kwargs))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"python": self.target}
        if self.kwargs:
            data["kwargs"] = dict(self.kwargs)
        return data

    @property
    def is_file(self) -> bool:
        return is_file_target(split_target(self.target)[0])

    @property
    def name(self) -> str:
        """The class, factory or instance the target names: ``Net`` of ``net.py:Net``."""
        return split_target(self.target)[1]

    def source_file(self, folder: Path | None) -> Path | None:
        """The Python file, resolved against the project's folder; None for an importable module."""
        if not self.is_file:
            return None
        path = Path(split_target(self.target)[0]).expanduser()
        return (path if path.is_absolute() or folder is None else folder / path).resolve()

    def resolved_target(self, folder: Path | None) -> str:
        """The target ``load_user_model`` takes: the file made absolute, a module name as it is."""
        file = self.source_file(folder)
        return self.target if file is None else f"{file}:{self.name}"

    def code_location(self, folder: Path | None) -> str:
        """What a user trusts to run this code: the file's folder, or the module's top-level package."""
        file = self.source_file(folder)
        if file is not None:
            return str(file.parent)
        return "module " + split_target(self.target)[0].split(".")[0]

    def relative_to(self, old_folder: Path | None, new_folder: Path) -> PythonNetwork:
        """The same network as seen from a project saved in ``new_folder``: the file's path relative
        to it (Save As elsewhere, an import given an absolute path), so the folder can move as one."""
        file = self.source_file(old_folder)
        if file is None:
            return self
        try:
            relative = os.path.relpath(file, new_folder.resolve())
        except ValueError:  # another drive (Windows): keep the absolute path
            relative = str(file)
        return PythonNetwork(f"{Path(relative).as_posix()}:{self.name}", dict(self.kwargs))

    def load(self, folder: Path | None, device: str = "meta") -> nn.Module:
        """Run the user's code and build the module (see :func:`load_user_model`). Errors name the
        file and line, or the constructor that raised, with the target as written as ``where``."""
        try:
            return load_user_model(self.resolved_target(folder), self.kwargs, device=device)
        except ModelLoadError as error:
            raise ModelLoadError(error.message, self.target) from error

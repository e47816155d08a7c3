"""The one family of errors nnstudio raises, each saying where the problem is."""

from __future__ import annotations


class NNStudioError(Exception):
    """Base error. ``where`` is a JSON path, a module path or an argument name."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class SpecError(NNStudioError):
    """A network spec (or a project file holding one) is not valid."""


class ProjectError(NNStudioError):
    """A project file cannot be read, migrated or written."""


class ShapeError(NNStudioError):
    """A forward pass on the meta device failed at a module."""


class ModelLoadError(NNStudioError):
    """A user's Python model could not be imported or built."""


class EditError(NNStudioError):
    """An edit on the document was refused."""


class CodeNotAllowedError(NNStudioError):
    """Building the network would run the user's Python code, and the user has not allowed it."""

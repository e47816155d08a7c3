"""Undoable edits of a project's sections other than the network: optimizer, init, freeze, mode,
device, inputs, training, probes, name. They share the network's undo stack, so Ctrl+Z undoes
whatever was edited last."""

from __future__ import annotations

import copy
from typing import Any

from app.errors import EditError, NNStudioError
from app.project.document import Address, Document
from app.project.project_file import parse_section


class SetSection:
    """Replace one section with a new value, validated first; undo puts the old value back."""

    kind = "section"

    def __init__(self, section: str, value: Any, text: str | None = None) -> None:
        self.section = section
        self.value = value
        self._old: Any = None
        self._text = text or f"edit {section}"

    @property
    def text(self) -> str:
        return self._text

    def changes_nothing(self, document: Document) -> bool:
        return getattr(document.project, self.section, None) == self.value

    def do(self, document: Document) -> None:
        try:
            value = parse_section(self.section, self.value)
        except NNStudioError as error:
            raise EditError(error.message, error.where) from error
        self._old = copy.deepcopy(getattr(document.project, self.section))
        setattr(document.project, self.section, value)

    def undo(self, document: Document) -> None:
        setattr(document.project, self.section, self._old)

    def changed_address(self) -> Address:
        return ()

    def __repr__(self) -> str:
        return f"<SetSection: {self.text}>"

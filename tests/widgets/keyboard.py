"""Typing into widgets as a user does."""

from PySide6.QtCore import Qt


def type_into(qtbot, edit, text: str) -> None:
    """Replace the field's text by typing it, then press Enter."""
    edit.clear()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)

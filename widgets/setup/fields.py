"""The text forms the setup panels share: selectors, ``key=value`` argument lists and numbers as
one line each, and the red label that shows why a value was refused."""

from __future__ import annotations

from PySide6.QtCore import QLocale
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QLabel, QLineEdit

from app.errors import NNStudioError


def selector_text(data: object) -> str:
    """A selector's JSON as one line: ``features``, ``type:BatchNorm2d``, ``*.bias & type:Linear``."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        return " & ".join([*data.get("paths", []), *(f"type:{t}" for t in data.get("types", []))])
    return ""


def selector_json(text: str) -> object:
    """The inverse of :func:`selector_text`; the core validates what comes out."""
    terms = [term.strip() for term in text.split("&") if term.strip()]
    paths = [t for t in terms if not t.startswith("type:")]
    types = [t[len("type:") :].strip() for t in terms if t.startswith("type:")]
    if len(paths) == 1 and not types:
        return paths[0]
    data: dict = {}
    if paths:
        data["paths"] = paths
    if types:
        data["types"] = types
    return data or text.strip()


def parse_value(text: str) -> object:
    """``1e-5`` -> 1e-05, ``3`` -> 3, ``true`` -> True, ``none`` -> None, else the text itself."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text.strip("'\"")


def parse_args(text: str, where: str = "args") -> dict:
    """``"step_size=5, gamma=0.5"`` -> ``{"step_size": 5, "gamma": 0.5}``."""
    args: dict = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise NNStudioError(f"write arguments as key=value, separated by commas; got {part!r}", where)
        args[key.strip()] = parse_value(value)
    return args


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return "none" if value is None else str(value)


def format_args(args: dict) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in args.items())


def number_edit(placeholder: str = "") -> QLineEdit:
    """A line edit for one number, in plain or scientific notation (``1e-5``), dot as decimal point."""
    edit = QLineEdit(placeholderText=placeholder)
    validator = QDoubleValidator(edit)
    validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
    validator.setLocale(QLocale.c())
    edit.setValidator(validator)
    return edit


def error_label() -> QLabel:
    label = QLabel(wordWrap=True, styleSheet="color: #c0392b;", visible=False)
    return label


def show_error(label: QLabel, error: NNStudioError | str | None) -> None:
    label.setText(str(error) if error else "")
    label.setVisible(bool(error))

"""A small Python syntax highlighter for the Code tab: keywords, builtins, strings, comments,
numbers, decorators and the names that ``def`` / ``class`` define.

Triple-quoted strings may span lines (docstrings); the block state carries which quote is open.
"""

from __future__ import annotations

import keyword
import re

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

NOT_IN_STRING, IN_TRIPLE_DOUBLE, IN_TRIPLE_SINGLE = -1, 1, 2
TRIPLE = {IN_TRIPLE_DOUBLE: '"""', IN_TRIPLE_SINGLE: "'''"}
BUILTINS = (
    "print",
    "len",
    "range",
    "int",
    "float",
    "str",
    "bool",
    "list",
    "dict",
    "tuple",
    "set",
    "isinstance",
    "super",
    "zip",
    "enumerate",
    "min",
    "max",
    "sum",
    "abs",
    "round",
    "sorted",
    "getattr",
    "setattr",
    "hasattr",
    "type",
    "open",
    "iter",
    "next",
    "any",
    "all",
    "map",
    "repr",
    "ValueError",
    "TypeError",
    "RuntimeError",
    "KeyError",
    "Exception",
    "SystemExit",
)


def _format(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Bold)
    fmt.setFontItalic(italic)
    return fmt


STYLES = {
    "keyword": _format("#0033b3", bold=True),
    "builtin": _format("#8a3ffc"),
    "self": _format("#94558d", italic=True),
    "number": _format("#1750eb"),
    "string": _format("#067d17"),
    "docstring": _format("#5f7f5f", italic=True),
    "comment": _format("#8c8c8c", italic=True),
    "decorator": _format("#9e880d"),
    "definition": _format("#00627a", bold=True),
}


class PythonHighlighter(QSyntaxHighlighter):
    """Colours Python source in a QTextDocument (a QPlainTextEdit's ``document()``)."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        words = "|".join(re.escape(word) for word in keyword.kwlist)
        # Later rules win where they overlap: strings and comments are applied last (see below).
        self.rules: list[tuple[QRegularExpression, int, QTextCharFormat]] = [
            (QRegularExpression(rf"\b(?:{words})\b"), 0, STYLES["keyword"]),
            (QRegularExpression(rf"(?<![.\w])(?:{'|'.join(BUILTINS)})\b(?=\()"), 0, STYLES["builtin"]),  # not np.abs(
            (QRegularExpression(r"\b(?:self|cls)\b"), 0, STYLES["self"]),
            (
                QRegularExpression(
                    r"\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?j?|\.\d+(?:[eE][+-]?\d+)?)\b"
                ),
                0,
                STYLES["number"],
            ),
            (QRegularExpression(r"^\s*@[\w.]+"), 0, STYLES["decorator"]),
            (QRegularExpression(r"\b(?:def|class)\s+(\w+)"), 1, STYLES["definition"]),
        ]
        # One pass for strings and comments, left to right, so '#' inside a string is not a comment.
        self.tokens = QRegularExpression(
            r"""(?P<triple>[rRbBfFuU]{0,2}(?:\"\"\"|'''))"""
            r"""|(?P<string>[rRbBfFuU]{0,2}(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?))"""
            r"""|(?P<comment>#.*$)"""
        )

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt's name)
        for expression, group, fmt in self.rules:
            matches = expression.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(group), match.capturedLength(group), fmt)
        self.setCurrentBlockState(NOT_IN_STRING)
        start = 0
        state = self.previousBlockState()
        if state in TRIPLE:  # inside a docstring that began on an earlier line
            start = self._close_triple(text, 0, TRIPLE[state], state)
        while 0 <= start < len(text):
            match = self.tokens.match(text, start)
            if not match.hasMatch():
                break
            begin = match.capturedStart()
            if match.capturedStart("triple") >= 0:
                quote = match.captured("triple")[-3:]
                start = self._close_triple(
                    text,
                    begin,
                    quote,
                    IN_TRIPLE_DOUBLE if quote == '"""' else IN_TRIPLE_SINGLE,
                    opened=match.capturedLength("triple"),
                )
            elif match.capturedStart("string") >= 0:
                self.setFormat(begin, match.capturedLength(), STYLES["string"])
                start = match.capturedEnd()
            else:
                self.setFormat(begin, match.capturedLength(), STYLES["comment"])
                break

    def _close_triple(self, text: str, begin: int, quote: str, state: int, opened: int = 0) -> int:
        """Colour from ``begin`` to the closing quote (or the end of the line, staying open);
        returns where to go on, or -1 when the string runs past the line."""
        end = text.find(quote, begin + opened)
        if end < 0:
            self.setFormat(begin, len(text) - begin, STYLES["docstring"])
            self.setCurrentBlockState(state)
            return -1
        self.setFormat(begin, end + 3 - begin, STYLES["docstring"])
        return end + 3

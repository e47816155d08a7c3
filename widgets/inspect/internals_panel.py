"""What the selected module holds, as PyTorch holds it: ``_parameters``, ``_buffers``,
``_modules``, its hooks, the ``training`` flag, and what PyTorch cannot see (lint warnings).

The sections are described by a Qt-free function, :func:`describe`, so the text is the same in
the panel and anywhere else that wants it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget
from torch import nn

from app.network.lint import LintWarning
from app.network.usermodel import shown_module_name

CAPTIONS = {
    "_parameters": "only this module's own parameters; its children's are in _modules. parameters() walks both.",
    "_buffers": "tensors saved in state_dict and moved by .to(device), but never trained (running statistics, masks).",
    "_modules": "the child modules registered by attribute assignment, add_module, Sequential, "
    "ModuleList or ModuleDict; a plain list would not be here.",
    "_forward_pre_hooks": "run before forward with its inputs (register_forward_pre_hook).",
    "_forward_hooks": "run after forward with its inputs and output (register_forward_hook); "
    "the usual way to read an intermediate output.",
    "_backward_pre_hooks": "run before the gradients of the module's output are used "
    "(register_full_backward_pre_hook).",
    "_backward_hooks": "run with the gradients of the module's inputs and outputs (register_full_backward_hook).",
    "training": "True after .train(), False after .eval(): Dropout and BatchNorm behave "
    "differently; it is set on every submodule at once.",
    "warnings": "attributes PyTorch does not register (modules or tensors in plain lists, dicts or "
    "attributes): parameters() and the optimizer never see them.",
}
HOOK_SECTIONS = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")


@dataclass
class Section:
    name: str
    caption: str
    entries: list[tuple[str, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.name == "training":
            return "training"
        return f"{self.name} ({len(self.entries)})"


def _shape(tensor) -> str:
    return "[" + ", ".join(str(s) for s in tensor.shape) + "]"


def hook_name(hook) -> str:
    """A hook function's qualified name: ``module.Class.method`` or ``module.function``."""
    if isinstance(hook, functools.partial):
        return f"partial({hook_name(hook.func)})"
    target = getattr(hook, "__func__", hook)
    qualname = getattr(target, "__qualname__", None) or type(hook).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def describe(module: nn.Module, path: str, warnings: list[LintWarning]) -> list[Section]:
    """The module's registries, hooks, training flag and the warnings at or below ``path``."""
    sections = [
        Section(
            "_parameters",
            CAPTIONS["_parameters"],
            [
                (name, "None" if p is None else f"Parameter {_shape(p)}{'' if p.requires_grad else ' (frozen)'}")
                for name, p in module._parameters.items()
            ],
        ),
        Section(
            "_buffers",
            CAPTIONS["_buffers"],
            [
                (
                    name,
                    "None"
                    if b is None
                    else f"{_shape(b)} {str(b.dtype).removeprefix('torch.')}"
                    + ("" if name not in module._non_persistent_buffers_set else " (not in state_dict)"),
                )
                for name, b in module._buffers.items()
            ],
        ),
        Section(
            "_modules",
            CAPTIONS["_modules"],
            [(name, "None" if m is None else type(m).__name__) for name, m in module._modules.items()],
        ),
    ]
    for attribute in HOOK_SECTIONS:
        hooks = getattr(module, attribute, None)
        if hooks is None:
            continue
        sections.append(
            Section(
                attribute,
                CAPTIONS[attribute],
                [(f"handle {handle}", hook_name(hook)) for handle, hook in hooks.items()],
            )
        )
    sections.append(Section("training", CAPTIONS["training"], [("training", str(module.training))]))
    prefix = f"{path}." if path else ""
    found = [w for w in warnings if not path or w.path == path or w.path.startswith(prefix)]
    sections.append(Section("warnings", CAPTIONS["warnings"], [(w.path, w.message) for w in found]))
    return sections


class InternalsPanel(QWidget):
    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.sections: list[Section] = []
        self.title_label = QLabel()
        self.title_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Key", "Value"])
        self.tree.setColumnCount(2)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.tree.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.tree)
        self._stale = False
        session.selectionChanged.connect(self._on_change)
        session.analysed.connect(self._on_change)
        session.projectReplaced.connect(self._on_change)
        self.refresh()

    def _on_change(self, *_) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True  # the real model is built only when someone looks at it

    def showEvent(self, event) -> None:
        if self._stale:
            self._stale = False
            self.refresh()
        super().showEvent(event)

    def refresh(self) -> None:
        path = self.session.selected
        model = self.session.model()
        self.tree.clear()
        self.sections = []
        if model is None:
            self.title_label.setText("The model cannot be built: see the problems list")
            return
        try:
            module = model.get_submodule(path) if path else model
        except AttributeError:
            self.title_label.setText(f"{path}: no such module in the model")
            return
        where = shown_module_name(type(module).__module__)
        self.title_label.setText(f"<b>{path or '(model)'}</b>: {where}.{type(module).__qualname__}")
        self.sections = describe(module, path, self.session.warnings)
        self._fill()

    def _fill(self) -> None:
        bold, caption_font = QFont(), QFont()
        bold.setBold(True)
        caption_font.setItalic(True)
        for section in self.sections:
            top = QTreeWidgetItem([section.title, section.caption])
            top.setFont(0, bold)
            top.setFont(1, caption_font)
            top.setForeground(1, QColor(110, 110, 110))
            top.setToolTip(1, section.caption)
            top.setFirstColumnSpanned(False)
            self.tree.addTopLevelItem(top)
            for key, value in section.entries:
                child = QTreeWidgetItem([key, value])
                child.setToolTip(1, value)
                if section.name == "warnings":
                    child.setForeground(1, QColor(190, 110, 0))
                top.addChild(child)
            top.setExpanded(True)

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def entries(self, name: str) -> dict[str, str]:
        section = self.section(name)
        return dict(section.entries) if section is not None else {}

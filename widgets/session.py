"""The open project as the widgets see it: the core document plus Qt signals.

Every panel takes a :class:`Session`, reads core objects from it and sends edits as core
commands through :meth:`Session.execute`; none of them holds state of its own that the core
lacks. After each edit the analysis (meta device: no weights allocated) is refreshed on the
next turn of the event loop, coalescing bursts of edits; the real CPU model that the parameter
views need is built only when one asks for it, and kept until the network changes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from torch import nn

from app.errors import EditError, NNStudioError
from app.network.analysis import Analysis, analyse
from app.network.build import build
from app.network.lint import LintWarning, lint
from app.network.module_tree import module_tree
from app.network.python_network import PythonNetwork
from app.network.spec import Node, container
from app.project.document import Changed, Document
from app.project.network_module import build_network, code_location
from app.project.project_file import Project, load_project, save_project
from app.project.section_commands import SetSection
from app.setup.modes import apply_mode, parse_mode
from app.training.estimate import Estimate, estimate
from app.training.prepare import apply_freeze

UNTITLED = "untitled"
LIVE_SECTIONS = ("mode", "probes")  # what may change while a run holds the network


def new_project() -> Project:
    """An empty Sequential with one input of 1 x 3, ready for the palette."""
    return Project(container("Sequential"), [_input([1, 3])], name=UNTITLED)


def module_path_of(network: Node, json_path: str) -> str | None:
    """``network.children[1].children[0].args.p`` -> ``classifier.0`` (None when not in the network)."""
    if not json_path.startswith("network"):
        return None
    node, names = network, []
    for index in re.findall(r"\.children\[(\d+)\]", json_path.split(".args")[0]):
        position = int(index)
        if position >= len(node.children):
            return None
        names.append(node.child_names()[position])
        node = node.children[position]
    return ".".join(names)


def _input(shape: list[int]):
    from app.network.inputs import InputSpec

    return InputSpec(shape)


class Session(QObject):
    changed = Signal(object)  # an app.project.document.Changed, after every do / undo / redo / save
    analysed = Signal()  # the analysis, problems and warnings are fresh
    projectReplaced = Signal()  # New / Open: every view starts over
    selectionChanged = Signal(str)  # a module path ("" is the root)
    titleChanged = Signal(str)
    message = Signal(str)  # a line for the status bar
    busyChanged = Signal(bool)  # a training run holds the network (edits are refused)

    def __init__(self, project: Project | None = None, path: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.document = Document(project or new_project())
        self.path: Path | None = path
        self.analysis: Analysis | None = None
        self.estimate: Estimate | None = None  # training memory and the device fit
        self.warnings: list[LintWarning] = []
        self.build_error: NNStudioError | None = None
        self.meta_model: nn.Module | None = None  # the network on the meta device, frozen as the project says
        self.selected = ""
        self.busy_reason = ""
        self.weights_unsaved = False  # the model holds values (trained) that only a Save keeps
        self.run_stopper: Callable[[], None] | None = None  # set by whoever runs training
        self._model: nn.Module | None = None
        self._python_meta: nn.Module | None = None  # a Python network, built once (its code runs once)
        self._unsubscribe = self.document.subscribe(self._on_changed)
        self._refresh = QTimer(self, singleShot=True, interval=0)
        self._refresh.timeout.connect(self.reanalyse)
        self.reanalyse()

    # The project -----------------------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self.document.project

    @property
    def network(self) -> Node:
        """The spec the views draw: the project's own, or the module tree of a Python network
        (read-only; empty until its code may run)."""
        network = self.project.network
        if isinstance(network, Node):
            return network
        return module_tree(self._python_meta) if self._python_meta is not None else container("Sequential")

    @property
    def python_network(self) -> PythonNetwork | None:
        network = self.project.network
        return network if isinstance(network, PythonNetwork) else None

    @property
    def code_location(self) -> str | None:
        """The folder (or package) whose code this project's network runs; None for a spec."""
        return code_location(self.project)

    def allow_code(self) -> None:
        """The user trusts this project's code: build it now, and every view follows."""
        self.project.code_allowed = True
        self._python_meta = None
        self._model = None
        self.reanalyse()
        self.projectReplaced.emit()

    def fresh_meta_model(self) -> nn.Module:
        """A new meta-device module of the network (nothing allocated) to try things on; raises
        NNStudioError when the network cannot be built (or its code may not run yet)."""
        if self.python_network is None:
            return build(self.network, device="meta")
        if self._python_meta is None:
            self._python_meta = build_network(self.project, device="meta")
        return copy.deepcopy(self._python_meta)

    @property
    def title(self) -> str:
        name = self.path.name if self.path is not None else self.project.name or UNTITLED
        return f"{name}{' *' if self.is_dirty else ''} - nnstudio"

    @property
    def is_dirty(self) -> bool:
        """Edits or trained weights that are not in the file yet."""
        return self.document.is_dirty or self.weights_unsaved

    def replace(self, project: Project, path: Path | None) -> None:
        """Start over with another project (New, Open); the undo history starts over too."""
        self._unsubscribe()
        self.document = Document(project)
        self._unsubscribe = self.document.subscribe(self._on_changed)
        self.path = path
        self.selected = ""
        self._model = None
        self._python_meta = None
        self.weights_unsaved = False
        self.reanalyse()
        self.projectReplaced.emit()
        self.titleChanged.emit(self.title)

    def open(self, path: str | Path) -> None:
        """Load a project; a broken file raises (with its JSON path) and changes nothing here."""
        project = load_project(path)
        self.replace(project, Path(path))

    def save(self, path: str | Path | None = None) -> None:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise NNStudioError("the project has no file yet: use Save As", "save")
        keep = self._model is not None and (self.project.weights or self.weights_unsaved)
        save_project(self.project, target, self._model.state_dict() if keep else None)
        self.path = target
        self.weights_unsaved = False
        self.document.mark_saved()
        self.titleChanged.emit(self.title)

    # Edits -----------------------------------------------------------------------------------
    def execute(self, command) -> bool:
        """Run a core command; a refusal raises EditError with the reason (nothing changed)."""
        if self.busy_reason and getattr(command, "section", None) not in LIVE_SECTIONS:
            raise NNStudioError(f"the network cannot change now: {self.busy_reason}", "edit")
        python = self.python_network
        if python is not None and not isinstance(command, SetSection):
            raise EditError(f"the network is Python code ({python.target}): edit it in its file", "network")
        return self.document.execute(command)

    def mode_section(self) -> dict:
        """The project's mode section, complete: ``{"training": ..., "overrides": {...}}``."""
        mode = self.project.mode or {}
        return {"training": mode.get("training", True), "overrides": dict(mode.get("overrides", {}))}

    def set_mode_override(self, path: str, value: bool | None) -> bool:
        """Pin the module at ``path`` to train (True) or eval (False), or let it inherit (None).

        One undoable edit; a path that is not a module of the network raises EditError."""
        mode = self.mode_section()
        if value is None:
            mode["overrides"].pop(path, None)
        else:
            try:
                modules = dict(self.fresh_meta_model().named_modules())
            except NNStudioError as error:
                raise EditError(f"the network cannot be built: {error.message}", error.where) from error
            if path not in modules:
                raise EditError(f"no module {path!r} in the network", f"mode.overrides.{path}")
            mode["overrides"][path] = bool(value)
        if mode == self.mode_section():
            return False
        what = "inherit" if value is None else ("train" if value else "eval")
        return self.execute(SetSection("mode", mode, f"{path or 'root'} {what} mode"))

    def undo(self) -> None:
        if self.document.undo_stack.can_undo:
            self.document.undo()

    def redo(self) -> None:
        if self.document.undo_stack.can_redo:
            self.document.redo()

    def stop_run(self) -> None:
        """Stop a training run and wait for it, keeping its weights (before closing or replacing)."""
        if self.run_stopper is not None:
            self.run_stopper()

    def set_busy(self, reason: str) -> None:
        self.busy_reason = reason
        self.busyChanged.emit(bool(reason))

    def select(self, module_path: str) -> None:
        if module_path != self.selected:
            self.selected = module_path
            self.selectionChanged.emit(module_path)

    def _on_changed(self, event: Changed) -> None:
        if event.action != "save":
            self._follow_edit(event)
        self._refresh.start()
        self.changed.emit(event)
        self.titleChanged.emit(self.title)

    # What the network is ---------------------------------------------------------------------
    def reanalyse(self) -> None:
        """Analysis on the meta device and lint: milliseconds, so it runs after every edit."""
        self._refresh.stop()
        try:
            meta = self.fresh_meta_model()
            apply_freeze(meta, self.project.freeze)  # trainable counts as training will see them
            self.build_error = None
            self.analysis = analyse(meta, self.project.inputs)
            self.warnings = lint(meta)
            self.meta_model = meta
        except NNStudioError as error:
            self.build_error, self.analysis, self.warnings, self.meta_model = error, None, [], None
        self.estimate = self._estimate()
        self.analysed.emit()

    def _estimate(self) -> Estimate | None:
        if self.meta_model is None or self.analysis is None:
            return None
        project = self.project
        try:
            return estimate(self.meta_model, self.analysis, project.inputs, project, project.device)
        except NNStudioError as error:  # an optimizer section that does not apply: the setup panel says why
            self.message.emit(f"No memory estimate: {error}")
            return None

    def model(self) -> nn.Module | None:
        """The real model on the CPU (init rules, seed, saved weights, freeze, mode), built once
        per network; None when the network cannot be built."""
        if self._model is None:
            from app.training.prepare import make_model

            try:
                self._model = make_model(self.project)
            except NNStudioError as error:
                self.message.emit(str(error))
                return None
        return self._model

    def set_model(self, model: nn.Module, trained: bool = False) -> None:
        """A model with new values (re-initialised, trained) whose weights a Save should write."""
        self._model = model
        if trained:
            self.weights_unsaved = True
            self.titleChanged.emit(self.title)

    def _follow_edit(self, event: Changed) -> None:
        """Keep the real model in step with an edit, without losing values only it holds."""
        section = event.section if event.kind == "section" else None
        if self._model is None or section not in ("mode", "freeze", "init", None):
            return
        if section == "mode":
            apply_mode(self._model, parse_mode(self.project.mode))
        elif section == "freeze":
            for parameter in self._model.parameters():
                parameter.requires_grad_(True)
            apply_freeze(self._model, self.project.freeze)
        elif section is None or not self.weights_unsaved:
            self._model = None  # another network, or values from the init rules: rebuilt on demand
            self.weights_unsaved = False

    def problems(self) -> list[tuple[str, str]]:
        """(module path, message) for everything wrong, for the problems list and the red rows; a
        problem outside the network keeps its JSON path."""
        found: list[tuple[str, str]] = []
        if self.build_error is not None:
            where = self.build_error.where
            found.append((module_path_of(self.network, where) or where, self.build_error.message))
        if self.analysis is not None and self.analysis.error is not None:
            error = self.analysis.error
            found.append((error.where, str(error)))
        found += [(w.path, w.message) for w in self.warnings]
        return found

    def snapshot(self) -> dict:
        return copy.deepcopy(self.project.to_json())

"""The main window: docks, menus, toolbar and status bar around the panels.

It owns no logic of its own: panels read the Session, edits go through core commands, files
through :mod:`widgets.files`.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from app.network.report import format_bytes
from widgets.export_actions import ExportActions
from widgets.files import FileActions, example_paths
from widgets.inspect.code_panel import CodePanel
from widgets.inspect.internals_panel import InternalsPanel
from widgets.inspect.parameters_panel import ParametersPanel
from widgets.inspect.summary_panel import SummaryPanel
from widgets.network.diagram import DiagramView
from widgets.network.palette import LayerPalette
from widgets.network.properties import PropertiesPanel
from widgets.network.tree_view import NetworkView
from widgets.session import Session
from widgets.setup.init_panel import InitPanel
from widgets.setup.mode_device import DevicePicker, ModeToggle
from widgets.setup.optimizer_panel import OptimizerPanel
from widgets.style import apply_style
from widgets.training.view import TrainingView
from widgets.welcome import WelcomePage

DEFAULT_SIZE = (1500, 950)
MIN_DOCK_WIDTH, MAX_RIGHT_WIDTH = 240, 380


class MainWindow(QMainWindow):
    def __init__(
        self,
        session: Session | None = None,
        parent: QWidget | None = None,
        persist_layout: bool = True,
        welcome: bool = False,
    ) -> None:
        """``welcome``: started without a project, show the welcome page until one is opened."""
        super().__init__(parent)
        self.session = session or Session()
        self.persist_layout = persist_layout  # off for --screenshot: always the default layout
        self.setObjectName("MainWindow")
        apply_style(self)
        self.palette_panel = LayerPalette(self.session)
        self.network_view = NetworkView(self.session)
        self.properties = PropertiesPanel(self.session)
        self.diagram = DiagramView(self.session)
        self.summary = SummaryPanel(self.session)
        self.parameters = ParametersPanel(self.session)
        self.internals = InternalsPanel(self.session)
        self.optimizer = OptimizerPanel(self.session)
        self.init_panel = InitPanel(self.session)
        self.training = TrainingView(self.session)
        self.problems = QListWidget()
        self.problems.setObjectName("problems")
        self.problems.itemActivated.connect(self._select_problem)
        self.files = FileActions(self)
        self.exports = ExportActions(self.session, self, self.files.maybe_save)
        self.code = CodePanel(self.session)
        self.code.saveRequested.connect(self.exports.export_script)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for widget, title in (
            (self.diagram, "Diagram"),
            (self.summary, "Summary"),
            (self.parameters, "Parameters && buffers"),
            (self.internals, "Module internals"),
            (self.training, "Training"),
            (self.training.activations, "Activations"),
            (self.code, "Code"),
        ):
            self.tabs.addTab(widget, title)
        self.central = QStackedWidget()
        self.central.addWidget(self.tabs)
        self.setCentralWidget(self.central)
        self._docks()
        self._menus_and_toolbar()
        self.welcome: WelcomePage | None = None
        self.files.python.confirm_code()  # a Python network given on the command line: ask before it runs
        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)

        self.session.titleChanged.connect(self.setWindowTitle)
        self.session.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.session.analysed.connect(self._show_analysis)
        self.session.changed.connect(lambda _event: self._update_undo_actions())
        self.session.projectReplaced.connect(self._update_undo_actions)
        self.setWindowTitle(self.session.title)
        self._show_analysis()
        self._update_undo_actions()
        self.resize(*default_size(self.screen().availableGeometry().size(), QGuiApplication.platformName()))
        # the docks are sized when first shown, at the size shown at, unless the user's layout came back
        self._docks_sized = persist_layout and self._restore_layout()
        if welcome:
            self._show_welcome()

    # The welcome page --------------------------------------------------------------------------
    def _show_welcome(self) -> None:
        start = [self.files.new_action, self.files.python.new_action, self.files.open_action]
        self.welcome = WelcomePage(start, example_paths(), self.files.recent(), self.files.open)
        self.central.addWidget(self.welcome)
        self.central.setCurrentWidget(self.welcome)
        self._layout_before_welcome = self.saveState()
        for dock in self.findChildren(QDockWidget):  # nothing of the empty project around it
            dock.hide()
        self.session.projectReplaced.connect(self._leave_welcome)

    def _leave_welcome(self) -> None:
        if self.welcome is None:
            return
        self.session.projectReplaced.disconnect(self._leave_welcome)
        self.restoreState(self._layout_before_welcome)
        self.central.setCurrentWidget(self.tabs)
        if not self._docks_sized:
            self._docks_sized = True
            self._default_dock_sizes()
        self.central.removeWidget(self.welcome)
        self.welcome.deleteLater()
        self.welcome = None

    # Layout ----------------------------------------------------------------------------------
    def _dock(
        self, widget: QWidget, title: str, area: Qt.DockWidgetArea, name: str, scroll: bool = False
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if scroll:  # a wide form scrolls inside a narrow dock instead of widening the window's side
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.NoFrame)
            area_widget.setWidget(widget)
            widget = area_widget
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _docks(self) -> None:
        left, right, bottom = Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea, Qt.BottomDockWidgetArea
        self.palette_dock = self._dock(self.palette_panel, "Layers", left, "paletteDock")
        self.network_dock = self._dock(self.network_view, "Network", left, "networkDock")
        self.splitDockWidget(self.palette_dock, self.network_dock, Qt.Vertical)
        self.properties_dock = self._dock(self.properties, "Properties", right, "propertiesDock")
        self.optimizer_dock = self._dock(self.optimizer, "Optimizer", right, "optimizerDock", scroll=True)
        self.init_dock = self._dock(self.init_panel, "Initialisation", right, "initDock", scroll=True)
        self.tabifyDockWidget(self.properties_dock, self.optimizer_dock)
        self.tabifyDockWidget(self.optimizer_dock, self.init_dock)
        self.properties_dock.raise_()
        self.problems_dock = self._dock(self.problems, "Problems", bottom, "problemsDock")

    def _default_dock_sizes(self) -> None:
        left, right = self._side_widths()
        if right < max(MIN_DOCK_WIDTH, self.properties.minimumSizeHint().width()):
            # a small screen: the right column joins the Layers dock as tabs
            for dock in (self.properties_dock, self.optimizer_dock, self.init_dock):
                self.tabifyDockWidget(self.palette_dock, dock)
            self.palette_dock.raise_()
            self.resizeDocks([self.palette_dock], [left], Qt.Horizontal)
        else:
            self.resizeDocks([self.palette_dock, self.properties_dock], [left, right], Qt.Horizontal)
        self.resizeDocks([self.palette_dock, self.network_dock], [300, 480], Qt.Vertical)
        self.resizeDocks([self.problems_dock], [90], Qt.Vertical)

    def _side_widths(self) -> tuple[int, int]:
        """The left and right docks' widths: the left as wide as the network tree's columns, the
        centre with room for the Training tab (its panel beside its plots), the right what is left."""
        tree = self.network_view
        tree.doItemsLayout()  # the columns size to their contents
        tree_width = tree.header().length() + tree.verticalScrollBar().sizeHint().width() + 2 * tree.frameWidth() + 4
        left = max(MIN_DOCK_WIDTH, min(tree_width, self.width() // 3))
        room = self.width() - left - self.training.minimumSizeHint().width() - 8
        return left, min(MAX_RIGHT_WIDTH, room)

    def _menus_and_toolbar(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.files.populate(file_menu)
        self.exports.populate(file_menu, before=self.files.quit_action)
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = QAction("Undo", self, shortcut=QKeySequence.Undo, triggered=self.session.undo)
        self.redo_action = QAction("Redo", self, shortcut=QKeySequence("Ctrl+Shift+Z"), triggered=self.session.redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.Redo])
        edit.addActions([self.undo_action, self.redo_action])
        edit.addSeparator()
        edit.addActions(list(self.network_view.actions_by_name.values()))
        self._run_menu()
        view = self.menuBar().addMenu("&View")
        for dock in (
            self.palette_dock,
            self.network_dock,
            self.properties_dock,
            self.optimizer_dock,
            self.init_dock,
            self.problems_dock,
        ):
            view.addAction(dock.toggleViewAction())
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.addActions([self.files.new_action, self.files.open_action, self.files.save_action])
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.redo_action])
        toolbar.addSeparator()
        self.mode_toggle = ModeToggle(self.session)
        toolbar.addWidget(self.mode_toggle)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Device "))
        self.device_picker = DevicePicker(self.session)
        toolbar.addWidget(self.device_picker)

    def _run_menu(self) -> None:
        panel, controller = self.training.panel, self.training.controller
        menu = self.menuBar().addMenu("&Run")

        def action(text: str, key: str, slot) -> QAction:
            found = QAction(text, self, shortcut=QKeySequence(key), triggered=slot)
            menu.addAction(found)
            return found

        def start() -> None:
            self.tabs.setCurrentWidget(self.training)
            panel.start()

        self.run_actions = {
            "start": action("Start training", "F5", start),
            "pause": action("Pause / resume", "F6", panel.toggle_pause),
            "stop": action("Stop", "Shift+F5", controller.stop),
            "evaluate": action("Evaluate in the current mode", "F7", controller.evaluate),
        }
        # On the window itself too: the keys work wherever the focus is, menu bar shown or not.
        self.addActions(list(self.run_actions.values()))

    # Reactions -------------------------------------------------------------------------------
    def _update_undo_actions(self) -> None:
        stack = self.session.document.undo_stack
        self.undo_action.setEnabled(stack.can_undo)
        self.redo_action.setEnabled(stack.can_redo)
        self.undo_action.setText(stack.undo_text)
        self.redo_action.setText(stack.redo_text)

    def _show_analysis(self) -> None:
        self.problems.clear()
        for where, message in self.session.problems():
            item = QListWidgetItem(f"{where}: {message}" if where and not message.startswith(where) else message)
            item.setData(Qt.UserRole, where)
            self.problems.addItem(item)
        self.problems_dock.setWindowTitle(
            f"Problems ({self.problems.count()})" if self.problems.count() else "Problems"
        )
        analysis = self.session.analysis
        if analysis is None:
            self.status.setText("the network cannot be built")
            return
        cost = self.session.estimate
        memory = cost.memory if cost is not None else None
        self.status.setText(
            f"{analysis.total_params:,} parameters ({analysis.trainable_params:,} trainable), "
            f"{analysis.param_bytes / 1e6:.2f} MB; output {_shape(analysis.output_shape)}"
            + (f"; training needs {format_bytes(memory.total)}" if memory is not None else "")
        )

    def _select_problem(self, item: QListWidgetItem) -> None:
        where = item.data(Qt.UserRole) or ""
        if where and not where.startswith("network"):
            self.session.select(where)

    # Settings and closing --------------------------------------------------------------------
    def _restore_layout(self) -> bool:
        """True when the user's own dock layout came back."""
        settings = QSettings()
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        return state is not None and self.restoreState(state)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._docks_sized and self.welcome is None:
            self._docks_sized = True
            self._default_dock_sizes()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.maybe_save("closing"):
            event.ignore()
            return
        self.exports.wait()  # an ONNX export in the background finishes first
        self.training.controller.shutdown()  # no thread outlives the window
        self.training.panel.wait_for_preview()
        if self.persist_layout:
            settings = QSettings()
            settings.setValue("window/geometry", self.saveGeometry())
            state = self._layout_before_welcome if self.welcome is not None else self.saveState()
            settings.setValue("window/state", state)
        event.accept()


def default_size(screen: QSize, platform: str) -> tuple[int, int]:
    """DEFAULT_SIZE, or the screen's available size where that is smaller (a 1280 x 800 laptop).

    Offscreen there is no screen to fit (its stand-in is 800 x 600): the default size is kept."""
    if platform == "offscreen":
        return DEFAULT_SIZE
    return min(DEFAULT_SIZE[0], screen.width()), min(DEFAULT_SIZE[1], screen.height())


def _shape(shape) -> str:
    from app.network.report import format_shape

    return format_shape(shape)

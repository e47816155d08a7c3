"""The Training tab: the training panel beside the live plots, and the activations panel that the
main window shows as a tab of its own. One controller feeds all of them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QSplitter, QWidget

from app.network.catalog import type_name_of
from app.training.events import Epoch, ProbeSnapshot, Started, Step
from widgets.training.activations_panel import ActivationsPanel
from widgets.training.controller import TrainingController
from widgets.training.live_plots import LivePlots
from widgets.training.panel import TrainingPanel


class TrainingView(QSplitter):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Horizontal, parent)
        self.session = session
        self.controller = TrainingController(session, self)
        self.panel = TrainingPanel(session, self.controller)
        self.plots = LivePlots()
        self.activations = ActivationsPanel()
        # The panel scrolls in a short window instead of squeezing its fields below their height.
        self.panel_scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.NoFrame)
        self.panel_scroll.setWidget(self.panel)
        self.panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # it scrolls down, never sideways
        self.panel_scroll.setMinimumWidth(
            self.panel.minimumSizeHint().width() + self.panel_scroll.verticalScrollBar().sizeHint().width()
        )
        self.addWidget(self.panel_scroll)
        self.addWidget(self.plots)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)
        self.setSizes([380, 900])
        self.setChildrenCollapsible(False)  # neither side squeezed to nothing by the splitter
        self.controller.eventsArrived.connect(self.show_events)

    def show_events(self, events: list) -> None:
        steps = [e for e in events if isinstance(e, Step)]
        for event in events:
            if isinstance(event, Started):
                self.plots.start(
                    event.groups,
                    self._classification(),
                    steps=event.epochs * event.steps_per_epoch,
                    epochs=event.epochs,
                )
                self.activations.start(self._module_types())
            elif isinstance(event, Epoch):
                self.plots.add_steps([s for s in steps if s.step <= event.step])
                steps = [s for s in steps if s.step > event.step]
                self.plots.add_epoch(event)
            elif isinstance(event, ProbeSnapshot):
                self.activations.add_snapshot(event)
        self.plots.add_steps(steps)
        self.plots.refresh()
        self.activations.refresh()

    def _classification(self) -> bool:
        run = self.controller.run
        return run is not None and run.setup.data.task == "classification"

    def _module_types(self) -> dict[str, str]:
        run = self.controller.run
        if run is None:
            return {}
        return {path: type_name_of(module) or type(module).__name__ for path, module in run.setup.core.named_modules()}

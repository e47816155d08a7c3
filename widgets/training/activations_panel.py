"""Activations during a run: a card per probed module (see ``activation_card``), in a scroll area.

The owner feeds it: ``start`` at the beginning of a run, ``add_snapshot`` for each probe event
(cheap: it only records), and ``refresh`` from its own redraw timer. ``refresh`` draws only the
cards that changed, and of those only the ones on screen: a hidden panel draws nothing, and a card
scrolled out of view keeps its changes until it is scrolled in (or the panel is shown again).

The probed set can change during a run: a module seen for the first time gets a card at its place
in the model (the order of ``module_types``), and one a later snapshot leaves out keeps its history
and says since when it has not been probed.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.training.distributions import ProbeHistory
from app.training.events import ProbeSnapshot
from widgets.training.activation_card import CARD_WIDTH, ActivationCard

EMPTY_TEXT = "Tick modules in the network tree (Probe column) to watch their activations during a run."
SPACING = 8
MAX_COLUMNS = 2
KINDS = {"activations": "activation", "gradients": "gradient"}


class ActivationsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = ProbeHistory()
        self._module_types: dict[str, str] = {}
        self._order: dict[str, int] = {}
        self._cards: dict[str, ActivationCard] = {}
        self._pending: set[str] = set()  # probed modules whose card is not made yet
        self._dirty: set[str] = set()
        self._columns = 0
        self._placed = True
        self.kind = "activation"

        self.summary_label = QLabel()
        self.summary_label.setProperty("role", "caption")
        self.kind_box = QComboBox()
        self.kind_box.addItems(list(KINDS))
        self.kind_box.setToolTip("Show the modules' outputs, or the gradients flowing back into them")
        self.kind_box.currentTextChanged.connect(lambda text: self.set_kind(KINDS[text]))
        self.kind_box.hide()  # until a run probes gradients
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.summary_label, 1)
        header.addWidget(self.kind_box)
        self.header = QWidget()
        self.header.setLayout(header)

        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setProperty("role", "caption")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignCenter)

        self.grid = QGridLayout()
        self.grid.setSpacing(SPACING)
        self.grid.setContentsMargins(0, 0, 0, 0)
        container = self.container = QWidget()
        column = QVBoxLayout(container)
        column.setContentsMargins(SPACING, SPACING, SPACING, SPACING)
        column.addLayout(self.grid)
        column.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setWidget(container)
        self.scroll.verticalScrollBar().valueChanged.connect(self.refresh)  # cards scrolled into view catch up

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.empty_label, 1)
        self._show_empty_state()

    # The owner's calls -------------------------------------------------------------------------
    def start(self, module_types: dict[str, str]) -> None:
        """Forget the last run; ``module_types`` maps module path -> class name, in model order."""
        self.history.clear()
        for card in self._cards.values():
            self.grid.removeWidget(card)
            card.deleteLater()
        self._cards.clear()
        self._pending.clear()
        self._dirty.clear()
        self._module_types = dict(module_types)
        self._order = {path: i for i, path in enumerate(module_types)}
        self.kind_box.hide()
        self.kind_box.setCurrentIndex(0)
        self._show_empty_state()

    def add_snapshot(self, snapshot: ProbeSnapshot) -> None:
        """Records it; new modules get a card. Nothing is drawn until ``refresh``."""
        seen = self.history.add(snapshot)
        for path in seen:
            if path not in self._cards:
                self._pending.add(path)  # made when the panel is on screen: a card costs ~0.1 s
            self._dirty.add(path)
        for path, card in self._cards.items():
            stale = path not in seen
            if stale != (card.stale_since is not None):
                self._dirty.add(path)  # just its status line
        if self.kind_box.isHidden() and self.history.has_kind("gradient"):
            self.kind_box.show()

    def refresh(self) -> None:
        """Redraws the cards that changed since the last call and are on screen."""
        if not self._dirty or not self.isVisible():
            return
        self._make_cards()
        if not self._placed:
            self.scroll.widget().layout().activate()  # cards just added or moved: where they are now
            self._placed = True
        latest = self.history.latest_step
        for path in list(self._dirty):
            card = self._cards.get(path)
            if card is None:
                self._dirty.discard(path)
                continue
            if not self._on_screen(card):
                continue
            last = self.history.last_step(path)
            card.set_stale(last if latest is not None and last is not None and last < latest else None)
            card.set_kind(self.kind)
            card.show_series(self.history.series(path, self.kind))
            self._dirty.discard(path)
        self._update_summary()

    def cards(self) -> list[str]:
        """The module paths shown (or about to be, once the panel is on screen), in order."""
        return sorted(set(self._cards) | self._pending, key=self._place_of)

    def card(self, path: str) -> ActivationCard:
        if path in self._pending:
            self._make_cards([path])
        return self._cards[path]

    def _make_cards(self, paths: list[str] | None = None) -> None:
        """The cards of newly probed modules: only once the panel is on screen (or asked for)."""
        chosen = sorted(paths or self._pending, key=self._place_of)
        for path in chosen:
            self._pending.discard(path)
            self._add_card(path)
        if chosen:
            self._place_cards()
            self._placed = False

    def set_kind(self, kind: str) -> None:
        """ "activation" or "gradient", for every card."""
        if kind == self.kind:
            return
        self.kind = kind
        text = next(label for label, value in KINDS.items() if value == kind)
        if self.kind_box.currentText() != text:
            self.kind_box.setCurrentText(text)
        self._dirty.update(self._cards)
        self.refresh()

    # Layout --------------------------------------------------------------------------------------
    def _place_of(self, path: str) -> tuple[int, int]:
        # modules the owner did not name go last, in the order they were first seen
        return (self._order.get(path, len(self._order)), self.history.paths().index(path))

    def _add_card(self, path: str) -> None:
        # parented at once: a parentless widget would be a window of its own and take the focus
        card = ActivationCard(path, self._module_types.get(path, ""), self.history.qs, self.container)
        self._cards[path] = card
        self._show_empty_state()

    def _place_cards(self, columns: int | None = None) -> None:
        columns = columns or self._columns_for(self.width())
        self._columns = columns
        for card in self._cards.values():
            self.grid.removeWidget(card)
        for i, path in enumerate(sorted(self._cards, key=self._place_of)):
            card = self._cards[path]
            self.grid.addWidget(card, i // columns, i % columns)
            card.show()
        for column in range(MAX_COLUMNS):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)

    @staticmethod
    def _columns_for(width: int) -> int:
        usable = width - 2 * SPACING - 24  # margins and a scroll bar
        return max(1, min(MAX_COLUMNS, (usable + SPACING) // (CARD_WIDTH + SPACING)))

    def _on_screen(self, card: ActivationCard) -> bool:
        if not card.isVisible() or card.height() <= 0:
            return True  # not laid out yet: draw rather than guess
        viewport = self.scroll.viewport()
        top = card.mapTo(viewport, QPoint(0, 0)).y()
        return top < viewport.height() and top + card.height() > 0

    def _show_empty_state(self) -> None:
        empty = not self._cards
        self.empty_label.setVisible(empty)
        self.scroll.setVisible(not empty)
        self.header.setVisible(not empty)

    def _update_summary(self) -> None:
        count = len(self._cards)
        step = self.history.latest_step
        modules = f"{count} module{'s' if count != 1 else ''}"
        self.summary_label.setText(modules if step is None else f"{modules} · step {step}")

    # Qt --------------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._cards and self._columns_for(self.width()) != self._columns:
            self._place_cards()
        self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()  # what changed while hidden

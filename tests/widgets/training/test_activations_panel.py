"""The activations panel: a card per probed module, fed with probe snapshots, drawn on refresh."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.training.distributions import BANDS
from app.training.events import ProbeSnapshot
from app.training.probes import ProbeStats
from widgets.training.activations_panel import EMPTY_TEXT, ActivationsPanel

EDGES = np.linspace(-2.0, 2.0, 9)
TYPES = {"features.0": "Conv2d", "features.1": "ReLU", "classifier": "Linear"}


def probe(path: str, step: int, hist=None, kind: str = "activation", **values) -> ProbeStats:
    hist = np.asarray(np.arange(1, 9) if hist is None else hist, dtype=np.int64)
    fields = dict(count=int(hist.sum()), mean=0.12, std=0.8, min=-1.5, max=1.75, zero_fraction=0.0)
    fields.update(values)
    return ProbeStats(path, kind, step, hist=hist, edges=EDGES, **fields)


def snapshot(step: int, paths=("features.0", "features.1", "classifier"), **values) -> ProbeSnapshot:
    return ProbeSnapshot(step, [probe(path, step, **values) for path in paths])


@pytest.fixture
def panel(qtbot):
    widget = ActivationsPanel()
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.start(TYPES)
    return widget


def count_plot_updates(card) -> list[str]:
    """Every setData on the card's plot items, by name."""
    calls: list[str] = []
    items = {"histogram": card.histogram_curve, "median": card.median_curve, "dead": card.dead_curve}
    items.update({f"band{i}": item for i, item in enumerate(card.band_items)})
    for name, item in items.items():
        if item is None:
            continue
        original = item.setData

        def spy(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        item.setData = spy
    return calls


def test_an_empty_panel_says_how_to_probe(panel):
    assert panel.cards() == []
    assert panel.empty_label.isVisible() and panel.empty_label.text() == EMPTY_TEXT
    assert not panel.scroll.isVisible()


def test_a_card_shows_the_latest_histogram_bands_and_numbers(panel):
    for step in (10, 20, 30):
        panel.add_snapshot(snapshot(step, hist=np.full(8, step), mean=step / 100))
    panel.refresh()
    assert panel.cards() == ["features.0", "features.1", "classifier"]
    assert not panel.empty_label.isVisible()
    card = panel.card("features.0")
    edges, counts = card.histogram()
    np.testing.assert_array_equal(edges, EDGES)
    np.testing.assert_array_equal(counts, np.full(8, 30))
    steps, bands = card.bands()
    np.testing.assert_array_equal(steps, [10, 20, 30])
    assert bands.shape == (3, len(BANDS))
    assert np.all(np.diff(bands, axis=1) >= 0)  # darker toward the median, the median in the middle
    np.testing.assert_allclose(bands[:, len(BANDS) // 2], 0.0, atol=1e-9)  # uniform over [-2, 2]
    assert "features.0" in card.title_label.text() and "Conv2d" in card.title_label.text()
    text = card.stats_label.text().replace("\u00a0", " ")
    assert "mean 0.3" in text and "std 0.8" in text and "min -1.5 .. max 1.75" in text
    assert "step 30" in panel.summary_label.text()


def test_relu_cards_show_dead_units_and_linear_ones_do_not(panel):
    hist = [1, 1, 1, 1, 20, 3, 2, 1]  # 30 values, the exact zeros in the bin [0, 0.5)
    for step, dead in ((10, 0.25), (20, 0.5)):
        panel.add_snapshot(snapshot(step, hist=hist, zero_fraction=dead))
    panel.refresh()
    relu = panel.card("features.1")
    assert relu.dead_label.isVisible() and relu.dead_label.text() == "dead 50%"
    np.testing.assert_allclose(relu.dead_fractions(), [0.25, 0.5])
    # the zeros are the dead %: the histogram shows the live values, not one bar that flattens them
    np.testing.assert_allclose(relu.histogram()[1], [1, 1, 1, 1, 5, 3, 2, 1])
    linear = panel.card("classifier")
    assert not linear.dead_label.isVisible() and linear.dead_fractions() is None
    assert "dead" not in linear.stats_label.text()
    np.testing.assert_array_equal(linear.histogram()[1], hist)


def test_a_module_probed_mid_run_gets_a_card_in_model_order(panel):
    panel.add_snapshot(snapshot(10, paths=("features.0", "classifier")))
    panel.refresh()
    assert panel.cards() == ["features.0", "classifier"]
    panel.add_snapshot(snapshot(20))
    panel.refresh()
    assert panel.cards() == ["features.0", "features.1", "classifier"]
    steps, _ = panel.card("features.1").bands()
    np.testing.assert_array_equal(steps, [20])


def test_a_module_no_longer_probed_keeps_its_history_and_says_so(panel):
    panel.add_snapshot(snapshot(10))
    panel.add_snapshot(snapshot(20))
    panel.add_snapshot(snapshot(30, paths=("features.0", "classifier")))
    panel.refresh()
    dropped = panel.card("features.1")
    assert dropped.status_label.text() == "not probed since step 20"
    np.testing.assert_array_equal(dropped.bands()[0], [10, 20])
    assert panel.card("features.0").status_label.text() == ""
    panel.add_snapshot(snapshot(40))  # ticked again
    panel.refresh()
    assert dropped.status_label.text() == ""
    np.testing.assert_array_equal(dropped.bands()[0], [10, 20, 40])


def test_start_clears_the_last_run(panel):
    panel.add_snapshot(snapshot(10))
    panel.refresh()
    panel.start({"fc": "Linear"})
    panel.refresh()
    assert panel.cards() == []
    assert panel.empty_label.isVisible()
    panel.add_snapshot(snapshot(5, paths=("fc",)))
    panel.refresh()
    assert panel.cards() == ["fc"]
    np.testing.assert_array_equal(panel.card("fc").bands()[0], [5])


def test_only_cards_with_new_data_are_redrawn(panel):
    paths = [f"block{i}" for i in range(12)]
    panel.start({path: "ReLU" if i % 2 else "Linear" for i, path in enumerate(paths)})
    panel.resize(700, 3000)  # every card on screen
    panel.add_snapshot(snapshot(10, paths=paths))
    panel.refresh()
    calls = {path: count_plot_updates(panel.card(path)) for path in paths}
    panel.refresh()  # nothing new
    assert all(not made for made in calls.values())
    panel.add_snapshot(snapshot(20, paths=paths[:1]))
    panel.refresh()
    assert calls["block0"] and not any(calls[path] for path in paths[1:])
    panel.refresh()
    assert len(calls["block0"]) == len(set(calls["block0"]))  # once per item, not again
    # the others became "not probed": a label change, not a redraw
    assert panel.card("block1").status_label.text() == "not probed since step 10"
    assert not any(calls[path] for path in paths[1:])


def test_gradients_are_offered_when_recorded(panel):
    panel.add_snapshot(snapshot(10))
    panel.refresh()
    assert panel.kind_box.isHidden()
    stats = [probe("classifier", 20), probe("classifier", 20, hist=np.ones(8), kind="gradient", mean=-0.5)]
    panel.add_snapshot(ProbeSnapshot(20, stats))
    panel.refresh()
    assert panel.kind_box.isVisible()
    card = panel.card("classifier")
    np.testing.assert_array_equal(card.histogram()[1], np.arange(1, 9))  # activations by default
    panel.kind_box.setCurrentText("gradients")
    assert panel.kind == "gradient"
    np.testing.assert_array_equal(card.histogram()[1], np.ones(8))
    assert "mean -0.5" in card.stats_label.text().replace("\u00a0", " ")
    assert panel.card("features.0").stats_label.text() == "no gradients recorded"


def test_a_hidden_panel_catches_up_when_shown(panel, qtbot):
    panel.hide()
    panel.add_snapshot(snapshot(10))
    panel.refresh()
    assert panel.card("features.0").redraws == 0
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.card("features.0").redraws == 1
    np.testing.assert_array_equal(panel.card("features.0").bands()[0], [10])


def test_cards_take_two_columns_when_wide_and_one_when_narrow(panel, qtbot):
    panel.add_snapshot(snapshot(10))
    panel.refresh()
    qtbot.wait(10)
    first, second = (panel.card(path) for path in panel.cards()[:2])
    assert first.y() == second.y() and first.x() < second.x()
    panel.resize(400, 600)
    qtbot.wait(10)
    assert second.y() > first.y() and first.x() == second.x()


def test_the_wheel_over_a_plot_scrolls_the_cards(panel, qtbot):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    panel.start({f"block{i}": "Linear" for i in range(8)})
    panel.add_snapshot(snapshot(10, paths=[f"block{i}" for i in range(8)]))
    panel.refresh()
    qtbot.wait(10)
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    view = panel.card("block0").plots.viewport()
    at = QPointF(40, 40)
    down = QWheelEvent(
        at, view.mapToGlobal(at), QPoint(), QPoint(0, -120), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False
    )
    QApplication.sendEvent(view, down)
    assert bar.value() > 0

"""The dataset preview: the right kind of picture for each built-in dataset, and errors shown."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
import torch

from app.data.loading import Data, load_data
from app.errors import NNStudioError
from widgets.training.boundary_view import class_color
from widgets.training.data_preview import MAX_TILES, DataPreview


def _preview(qtbot) -> DataPreview:
    preview = DataPreview()
    qtbot.addWidget(preview)
    preview.resize(500, 450)
    return preview


def _rgb(color) -> tuple[int, int, int]:
    return color.red(), color.green(), color.blue()


def test_spirals_show_as_a_class_coloured_scatter(qtbot):
    preview = _preview(qtbot)
    data = load_data({"name": "spirals", "size": 2000, "classes": 3})
    preview.show_data(data)
    assert preview.kind == "scatter"
    assert preview.stack.currentWidget() is preview.plot_widget
    assert preview.caption.text() == "1,600 training / 400 validation samples · 3 classes · input 2"
    filled = [item for item in preview.scatter_items if not item.hollow]
    hollow = [item for item in preview.scatter_items if item.hollow]
    assert sum(len(item.getData()[0]) for item in filled) == 1600
    assert sum(len(item.getData()[0]) for item in hollow) == 400
    for item in filled:
        k = item.class_index
        assert _rgb(item.opts["brush"].color()) == class_color(k)
        x, y = item.getData()
        expected = data.x_train[data.y_train == k].numpy()
        assert len(x) == len(expected)
        assert set(zip(x.tolist(), y.tolist())) == set(map(tuple, expected.tolist()))
    assert preview.plot.getAxis("bottom").labelText == "x1"


def test_sine_shows_x_against_y(qtbot):
    preview = _preview(qtbot)
    data = load_data({"name": "sine", "size": 500})
    preview.show_data(data)
    assert preview.kind == "regression"
    assert "regression" in preview.caption.text() and "input 1" in preview.caption.text()
    train = next(item for item in preview.scatter_items if not item.hollow)
    x, y = train.getData()
    assert np.allclose(x, data.x_train[:, 0].numpy()) and np.allclose(y, data.y_train[:, 0].numpy())
    assert preview.plot.getAxis("left").labelText == "y"


@pytest.mark.parametrize("name, channels", [("shapes28", 1), ("shapes32", 3)])
def test_images_show_as_a_grid_with_their_class_names(qtbot, name, channels):
    preview = _preview(qtbot)
    data = load_data({"name": name, "size": 100})
    preview.show_data(data)
    assert preview.kind == "images"
    assert preview.stack.currentWidget() is preview.images_widget
    side = data.sample_shape[-1]
    assert f"input {channels}×{side}×{side}" in preview.caption.text()
    assert len(preview.tile_boxes) == len(preview.tile_captions) == MAX_TILES
    names = [data.class_names[k] for k in data.y_train[:MAX_TILES].tolist()]
    assert [text.toPlainText() for text in preview.tile_captions] == names
    for k in (0, 5, MAX_TILES - 1):
        tile = preview.tile(k).astype(float)
        assert tile.shape == (side, side, 3)
        source = data.x_train[k].numpy()
        for channel in range(3):
            shown = tile[..., channel].ravel()
            expected = source[channel if channels == 3 else 0].ravel()
            assert np.corrcoef(shown, expected)[0, 1] > 0.98
    grey = all(np.ptp(preview.tile(k), axis=2).max() == 0 for k in range(MAX_TILES))
    assert grey == (channels == 1)


def test_tokens_show_as_curves_coloured_by_class(qtbot):
    preview = _preview(qtbot)
    data = load_data({"name": "tokens", "size": 100, "length": 12})
    preview.show_data(data)
    assert preview.kind == "sequences"
    assert "input 12 token ids" in preview.caption.text() and "2 classes" in preview.caption.text()
    assert {item.class_index for item in preview.curve_items} == {0, 1}
    for item in preview.curve_items:
        x, y = item.getData()
        assert x.tolist() == list(range(12))
        assert y.tolist() == data.x_train[item.sample_index].tolist()
        assert int(data.y_train[item.sample_index]) == item.class_index
        assert _rgb(item.opts["pen"].color()) == class_color(item.class_index)
    labels = [label.text for _, label in preview.legend.items]
    assert labels == ["no marker", "marker"]


def test_show_error_shows_the_message_in_red_and_nothing_else(qtbot):
    preview = _preview(qtbot)
    preview.show_data(load_data({"name": "spirals", "size": 100}))
    try:
        load_data({"name": "spirals", "size": -1})
    except NNStudioError as error:
        preview.show_error(str(error))
    assert preview.kind == "error"
    assert "training.dataset.size" in preview.caption.text()
    assert "b3261e" in preview.caption.styleSheet() and preview.caption.property("role") == "error"
    assert preview.scatter_items == [] and preview.stack.currentWidget() is preview.empty_page
    assert not [item for item in preview.plot.items if isinstance(item, pg.ScatterPlotItem)]

    preview.show_data(load_data({"name": "moons", "size": 100}))
    assert preview.caption.property("role") == "caption" and preview.kind == "scatter"
    preview.clear()
    assert preview.kind is None and preview.caption.text() == "" and preview.scatter_items == []


def test_a_dataset_with_no_picture_still_gets_its_caption(qtbot):
    preview = _preview(qtbot)
    x = torch.zeros(10, 2, 3, 4, 5)
    y = torch.zeros(10, dtype=torch.long)
    preview.show_data(Data(x[:8], y[:8], x[8:], y[8:], "classification", 1, (2, 3, 4, 5), "float32", "odd"))
    assert preview.kind == "none"
    assert preview.caption.text() == "8 training / 2 validation samples · 1 class · input 2×3×4×5"
    assert "(2, 3, 4, 5)" in preview.empty_page.text()

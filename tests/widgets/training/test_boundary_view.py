"""The decision-boundary view: class-coloured points, and the model's regions under them."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from app.data.loading import load_data
from app.training.boundary import BoundaryGrid, BoundaryImage
from widgets.training.boundary_view import MAX_TINT, BoundaryView, boundary_rgb, class_color


def _view(qtbot) -> BoundaryView:
    view = BoundaryView()
    qtbot.addWidget(view)
    view.resize(500, 450)
    return view


def _brush_rgb(item) -> tuple[int, int, int]:
    color = item.opts["brush"].color()
    return color.red(), color.green(), color.blue()


def _pen_rgb(item) -> tuple[int, int, int]:
    color = item.opts["pen"].color()
    return color.red(), color.green(), color.blue()


def _points(item) -> np.ndarray:
    x, y = item.getData()
    return np.stack([x, y], axis=1)


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def test_the_scatter_holds_every_training_point_in_its_class_colour(qtbot):
    view = _view(qtbot)
    data = load_data({"name": "spirals", "size": 600, "classes": 3})
    view.set_data(data)
    assert sorted(item.class_index for item in view.train_items) == [0, 1, 2]
    assert sum(len(item.getData()[0]) for item in view.train_items) == len(data.x_train)
    assert sum(len(item.getData()[0]) for item in view.val_items) == len(data.x_val)
    for item in view.train_items:
        k = item.class_index
        expected = data.x_train[data.y_train == k].numpy()
        assert np.allclose(_sorted_rows(_points(item)), _sorted_rows(expected))
        assert _brush_rgb(item) == class_color(k)
    for item in view.val_items:  # hollow: the class colour is on the outline, the inside is white
        assert _pen_rgb(item) == class_color(item.class_index)
        assert _brush_rgb(item) == (255, 255, 255)
    # The palette is fixed: Playground's orange and blue first, and distinct colours after.
    assert class_color(0) == (245, 147, 34) and class_color(1) == (8, 119, 189)
    assert len({class_color(k) for k in range(30)}) == 30
    assert "no prediction yet" in view.caption.text()


def test_the_prediction_fills_the_ranges_in_class_colours(qtbot):
    view = _view(qtbot)
    data = load_data({"name": "moons", "size": 300})
    grid = BoundaryGrid.for_data(data, resolution=32)
    view.set_data(data)
    layer = nn.Linear(2, 2)
    with torch.no_grad():  # class 1 where x > 0, very sure far from the line
        layer.weight.copy_(torch.tensor([[-20.0, 0.0], [20.0, 0.0]]))
        layer.bias.zero_()
    view.set_prediction(grid.predict(layer), step=250)

    item = view.image_item
    assert item.isVisible()
    rgb = item.image
    assert rgb.shape == (32, 32, 3)
    rect = item.mapRectToParent(item.boundingRect())
    assert np.allclose([rect.left(), rect.right()], grid.x_range)
    assert np.allclose([rect.top(), rect.bottom()], grid.y_range)

    def tint(k: int) -> np.ndarray:
        return np.rint(255 + (np.array(class_color(k)) - 255) * MAX_TINT)

    far_left, far_right = grid.xs < grid.x_range[0] / 2, grid.xs > grid.x_range[1] / 2
    assert np.abs(rgb[:, far_left].astype(int) - tint(0)).max() <= 1
    assert np.abs(rgb[:, far_right].astype(int) - tint(1)).max() <= 1
    # On the boundary the model is unsure: nearly white.
    middle = np.argmin(np.abs(grid.xs))
    assert rgb[:, middle].min() > 150
    assert "step 250" in view.caption.text()
    # The points stay above the image.
    assert all(point.zValue() > item.zValue() for point in view.train_items + view.val_items)


def test_boundary_colours_fade_to_white_at_chance():
    label = np.array([[0, 1], [2, 0]])
    confidence = np.array([[1.0, 1.0], [1 / 3, 2 / 3]], dtype=np.float32)
    rgb = boundary_rgb(BoundaryImage(label, confidence, (0.0, 1.0), (0.0, 1.0), 3))
    assert rgb[1, 0].tolist() == [255, 255, 255]
    for k, cell in ((0, rgb[0, 0]), (1, rgb[0, 1])):
        assert cell.tolist() == np.rint(255 + (np.array(class_color(k)) - 255) * MAX_TINT).tolist()
    half = np.rint(255 + (np.array(class_color(0)) - 255) * MAX_TINT * 0.5)
    assert np.abs(rgb[1, 1].astype(int) - half).max() <= 1


def test_clear_and_data_that_has_no_boundary(qtbot):
    view = _view(qtbot)
    data = load_data({"name": "xor", "size": 100})
    view.set_data(data)
    view.set_prediction(BoundaryGrid.for_data(data, resolution=8).predict(nn.Linear(2, 2)), step=3)
    view.clear()
    assert view.train_items == [] and view.val_items == [] and not view.image_item.isVisible()
    assert "step" not in view.caption.text()

    view.set_data(load_data({"name": "sine", "size": 50}))
    assert view.train_items == []
    assert "2 features" in view.caption.text()


def test_image_rows_go_up_in_y_like_the_points(qtbot):
    from PySide6.QtCore import QPointF

    view = _view(qtbot)
    data = load_data({"name": "blobs", "size": 200, "classes": 2})
    grid = BoundaryGrid.for_data(data, resolution=16)
    view.set_data(data)
    layer = nn.Linear(2, 2)
    with torch.no_grad():  # class 1 where y > 0
        layer.weight.copy_(torch.tensor([[0.0, -20.0], [0.0, 20.0]]))
        layer.bias.zero_()
    view.set_prediction(grid.predict(layer))
    item = view.image_item
    for i, j in ((0, 0), (3, 12), (15, 15)):
        centre = item.mapToParent(QPointF(i + 0.5, j + 0.5))
        assert np.allclose([centre.x(), centre.y()], [grid.xs[i], grid.ys[j]])
    colour = np.array(class_color(1))
    top_row = item.image[grid.ys.argmax()].astype(int)  # highest y: class 1's tint
    assert np.abs(top_row - np.rint(255 + (colour - 255) * MAX_TINT)).max() <= 1


def test_the_prediction_fills_the_view_and_covers_every_point_in_a_panel_of_any_shape(qtbot):
    view = _view(qtbot)
    view.resize(700, 300)  # much wider than tall: an aspect-locked view would show bands past the image
    view.show()
    qtbot.waitExposed(view)
    data = load_data({"name": "spirals", "size": 600, "classes": 3, "noise": 0.2})
    view.set_data(data)
    view.set_prediction(BoundaryGrid.for_data(data, resolution=16).predict(nn.Linear(2, 3)))
    item = view.image_item
    rect = item.mapRectToParent(item.boundingRect())
    (x0, x1), (y0, y1) = view.plot.getViewBox().viewRange()
    assert np.allclose([x0, x1, y0, y1], [rect.left(), rect.right(), rect.top(), rect.bottom()], atol=1e-6)
    points = np.concatenate([_points(i) for i in view.train_items + view.val_items])
    assert (points[:, 0] > rect.left()).all() and (points[:, 0] < rect.right()).all()
    assert (points[:, 1] > rect.top()).all() and (points[:, 1] < rect.bottom()).all()

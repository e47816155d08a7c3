"""The decision boundary grid: the model's class and confidence over the plane of 2-D data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from app.data.loading import Data, load_data
from app.errors import NNStudioError
from app.setup.modes import apply_mode
from app.training.boundary import BoundaryGrid, BoundaryImage


def points_data(x: torch.Tensor, y: torch.Tensor, task: str = "classification") -> Data:
    return Data(x, y, x[:0], y[:0], task, 2, tuple(x.shape[1:]), "float32", "hand-made")


def square_data() -> Data:
    """Four points at (+-1, +-1): with the default margin the grid spans [-1.3, 1.3] on both axes."""
    x = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    return points_data(x, torch.tensor([0, 1, 0, 1]))


def x_positive_model(logits: int = 2) -> nn.Module:
    """Class 1 exactly where x > 0."""
    layer = nn.Linear(2, logits)
    with torch.no_grad():
        layer.bias.zero_()
        if logits == 1:
            layer.weight.copy_(torch.tensor([[4.0, 0.0]]))
        else:
            layer.weight.copy_(torch.tensor([[-2.0, 0.0], [2.0, 0.0]]))
    return layer


def test_the_grid_spans_the_points_plus_the_margin_and_is_made_once():
    grid = BoundaryGrid.for_data(square_data(), resolution=8, margin=0.15)
    assert grid.x_range == pytest.approx((-1.3, 1.3))
    assert grid.y_range == pytest.approx((-1.3, 1.3))
    assert grid.points.dtype == torch.float32 and grid.points.shape == (64, 2)
    # Cell centres, row by row going up in y: point j * res + i is (xs[i], ys[j]).
    assert grid.xs[0] == pytest.approx(-1.3 + 2.6 / 16)
    assert grid.points[8 * 2 + 5].tolist() == pytest.approx([grid.xs[5], grid.ys[2]])


def test_a_model_deciding_x_greater_than_zero_labels_each_half():
    grid = BoundaryGrid.for_data(square_data(), resolution=16)
    image = grid.predict(x_positive_model())
    assert isinstance(image, BoundaryImage)
    assert isinstance(image.label, np.ndarray) and isinstance(image.confidence, np.ndarray)
    assert image.label.shape == image.confidence.shape == (16, 16)
    assert image.resolution == 16 and image.num_classes == 2
    assert image.x_range == grid.x_range and image.y_range == grid.y_range
    left, right = grid.xs < 0, grid.xs > 0
    assert (image.label[:, left] == 0).all() and (image.label[:, right] == 1).all()
    # Confidence grows away from the boundary and is the softmax of the winning class.
    row = image.confidence[0]
    assert row[0] > row[7] and row[15] > row[8]
    expected = torch.softmax(torch.tensor([-2.0 * grid.xs[0], 2.0 * grid.xs[0]]), 0).max().item()
    assert row[0] == pytest.approx(expected, rel=1e-5)


def test_a_single_logit_is_read_through_a_sigmoid():
    grid = BoundaryGrid.for_data(square_data(), resolution=16)
    image = grid.predict(x_positive_model(logits=1))
    assert image.num_classes == 2
    assert (image.label[:, grid.xs < 0] == 0).all() and (image.label[:, grid.xs > 0] == 1).all()
    expected = torch.sigmoid(torch.tensor(4.0 * grid.xs[-1])).item()
    assert image.confidence[3, -1] == pytest.approx(expected, rel=1e-5)
    assert image.confidence[3, 0] == pytest.approx(expected, rel=1e-5)  # symmetric: max(p, 1 - p)


def test_training_flags_are_restored_per_module_and_nothing_trains():
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3))
    # The whole model trains but the BatchNorm is pinned to eval; then the model is put in eval
    # except the Dropout, pinned to training: an ordinary eval() would leave it dropping out.
    apply_mode(model, {"training": True, "overrides": {"1": False}})
    before = {name: module.training for name, module in model.named_modules()}
    assert before == {"": True, "0": True, "1": False, "2": True, "3": True}
    grid = BoundaryGrid.for_data(square_data(), resolution=8)
    running_mean = model[1].running_mean.clone()
    first = grid.predict(model)
    assert {name: module.training for name, module in model.named_modules()} == before
    assert torch.equal(model[1].running_mean, running_mean)

    apply_mode(model, {"training": False, "overrides": {"1": True, "2": True}})
    before = {name: module.training for name, module in model.named_modules()}
    assert before == {"": False, "0": False, "1": True, "2": True, "3": False}
    second = grid.predict(model)
    # Eval everywhere during the prediction: no dropout noise, no running-statistics update.
    assert np.array_equal(first.label, second.label) and np.allclose(first.confidence, second.confidence)
    assert torch.equal(model[1].running_mean, running_mean)
    assert {name: module.training for name, module in model.named_modules()} == before
    assert all(p.grad is None for p in model.parameters())


def test_flags_are_restored_when_the_model_fails():
    model = nn.Sequential(nn.Linear(2, 4), nn.Linear(5, 2))
    grid = BoundaryGrid.for_data(square_data(), resolution=4)
    with pytest.raises(RuntimeError):
        grid.predict(model)
    assert all(module.training for module in model.modules())


def test_the_grid_follows_the_model_dtype():
    model = x_positive_model().double()
    image = BoundaryGrid.for_data(square_data(), resolution=8).predict(model)
    assert (image.label[:, 4:] == 1).all() and image.confidence.dtype == np.float32


def test_an_output_that_is_not_one_score_per_class_is_an_error():
    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    grid = BoundaryGrid.for_data(square_data(), resolution=4)
    with pytest.raises(NNStudioError, match="one score per class"):
        grid.predict(Pair())
    with pytest.raises(NNStudioError, match="one score per class"):
        grid.predict(nn.Flatten(0))


@pytest.mark.parametrize("name", ["sine", "shapes28", "shapes32", "tokens"])
def test_no_grid_for_data_that_is_not_2d_classification(name):
    assert BoundaryGrid.for_data(load_data({"name": name, "size": 20})) is None


def test_no_grid_for_regression_or_three_features():
    x = torch.randn(10, 2)
    assert BoundaryGrid.for_data(points_data(x, torch.randn(10, 1), task="regression")) is None
    assert BoundaryGrid.for_data(points_data(torch.randn(10, 3), torch.zeros(10, dtype=torch.long))) is None


@pytest.mark.parametrize("name", ["spirals", "blobs", "moons", "xor"])
def test_every_2d_builtin_dataset_has_a_grid_holding_all_its_points(name):
    data = load_data({"name": name, "size": 200})
    grid = BoundaryGrid.for_data(data)
    assert grid.resolution == 64
    points = torch.cat([data.x_train, data.x_val])
    assert grid.x_range[0] < points[:, 0].min() and points[:, 0].max() < grid.x_range[1]
    assert grid.y_range[0] < points[:, 1].min() and points[:, 1].max() < grid.y_range[1]


def test_a_single_point_still_gives_a_grid():
    grid = BoundaryGrid.for_data(points_data(torch.tensor([[0.5, 0.5]]), torch.tensor([0])), resolution=4)
    assert grid.x_range[0] < 0.5 < grid.x_range[1] and grid.y_range[0] < 0.5 < grid.y_range[1]


def test_a_bad_resolution_is_an_error():
    with pytest.raises(NNStudioError, match="resolution"):
        BoundaryGrid.for_data(square_data(), resolution=1)
    with pytest.raises(NNStudioError):
        BoundaryGrid((0.0, 1.0), (1.0, 1.0), 8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_prediction_runs_on_the_model_device():
    model = x_positive_model().cuda()
    image = BoundaryGrid.for_data(square_data(), resolution=8).predict(model)
    assert isinstance(image.label, np.ndarray) and (image.label[:, 4:] == 1).all()

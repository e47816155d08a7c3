"""DataBounds: the running bounds of a growing series, whether it grows a few points at a time
(looked at in plain Python) or by thousands (numpy)."""

import numpy as np

from widgets.training.plot_range import DataBounds


def grown(x, y, chunk):
    bounds = DataBounds()
    for end in range(chunk, len(x) + chunk, chunk):
        bounds.update("series", x[:end], y[:end])
    return bounds


def test_few_and_many_new_points_give_the_same_bounds():
    rng = np.random.default_rng(0)
    x = np.arange(1.0, 5001.0)
    y = rng.normal(0.0, 3.0, 5000)
    y[[10, 2000, 4321]] = [np.nan, np.inf, -np.inf]  # not finite: never a bound
    few, many = grown(x, y, 3), grown(x, y, 1000)
    finite = np.isfinite(y)
    expected_y = (y[finite].min(), y[finite].max())
    positive = y[finite & (y > 0)]
    for bounds in (few, many):
        assert bounds.x == (1.0, 5000.0)
        assert bounds.y == expected_y
        assert bounds.y_positive == (positive.min(), positive.max())


def test_a_series_that_starts_over_forgets_its_old_bounds():
    bounds = DataBounds()
    bounds.update("a", np.array([1.0, 2.0]), np.array([5.0, 6.0]))
    bounds.update("b", np.array([1.0]), np.array([-1.0]))  # another series
    assert bounds.y == (-1.0, -1.0) and bounds.y_positive == (np.inf, -np.inf)

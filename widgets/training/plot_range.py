"""A plot's view range that follows growing data but changes rarely.

pyqtgraph's auto-range moves the view on every new point, and each move makes the axes
regenerate and repaint their ticks and grid: most of a live plot's frame (measured about 45 ms of
a 50 ms frame for four plots offscreen, against about 5 ms with a steady range). Here the view
jumps ahead instead (x to half again the data's extent, y with a margin) and moves only when the
data leaves it or fills too little of it. When the run's length is known (``x_goal``: its last
step or epoch), x grows four times at once, never past the run's end, and never shrinks: a
handful of moves in a whole run (each one draws every curve and axis again; growing twice at
once doubled the moves and took the bench's p99 stall from 16 to 26 ms). A y known to lie in a
span (an accuracy in [0, 1]) always shows that span. A pan or zoom by the user stops the
following until ``follow()`` (the Fit button). The x range shown has a little room on each side
(``X_PAD``), so an epoch's marker at the run's first or last step is drawn whole, not cut in half.
"""

from __future__ import annotations

import math

import numpy as np

X_AHEAD = 1.5  # the x range ends at half again the data's extent
X_AHEAD_TO_GOAL = 4  # with the run's length known: four times the extent, at most to the run's end
SHRINK_BELOW = 0.3  # a range the data fills less than this much of is tightened
Y_MARGIN = 0.08
X_PAD = 0.02  # of the x span, on each side: room for a marker's radius at the edges
FEW = 32  # new points up to this many are looked at in plain Python


class DataBounds:
    """Running bounds of a growing (x, y) series: only the new points are looked at."""

    def __init__(self) -> None:
        self.key: object = None
        self.done = 0
        self.x = (np.inf, -np.inf)
        self.y = (np.inf, -np.inf)
        self.y_positive = (np.inf, -np.inf)  # for a log axis

    def update(self, key: object, x: np.ndarray, y: np.ndarray) -> None:
        if key != self.key or len(x) < self.done:  # another series, or one that started over
            self.__init__()
            self.key = key
        new_x, new_y = x[self.done :], y[self.done :]
        self.done = len(x)
        if len(new_x) <= FEW:  # a frame's few new points: plain Python beats a dozen numpy calls
            pairs = [
                (px, py) for px, py in zip(new_x.tolist(), new_y.tolist()) if math.isfinite(px) and math.isfinite(py)
            ]
            if pairs:
                xs, ys = [px for px, _ in pairs], [py for _, py in pairs]
                self.x = min(self.x[0], min(xs)), max(self.x[1], max(xs))
                self.y = min(self.y[0], min(ys)), max(self.y[1], max(ys))
                positive = [py for py in ys if py > 0]
                if positive:
                    self.y_positive = min(self.y_positive[0], min(positive)), max(self.y_positive[1], max(positive))
            return
        finite = np.isfinite(new_x) & np.isfinite(new_y)
        if not finite.any():
            return
        new_x, new_y = new_x[finite], new_y[finite]
        self.x = _merge(self.x, new_x)
        self.y = _merge(self.y, new_y)
        positive = new_y[new_y > 0]
        if len(positive):
            self.y_positive = _merge(self.y_positive, positive)


def _merge(bounds: tuple[float, float], values: np.ndarray) -> tuple[float, float]:
    return min(bounds[0], float(values.min())), max(bounds[1], float(values.max()))


def union(bounds: list[tuple[float, float]]) -> tuple[float, float] | None:
    low = min((b[0] for b in bounds), default=np.inf)
    high = max((b[1] for b in bounds), default=-np.inf)
    return (low, high) if low <= high else None


def padded(low: float, high: float) -> tuple[float, float]:
    """The x range shown for data from ``low`` to ``high``: ``X_PAD`` of the span more each side."""
    pad = (high - low) * X_PAD
    return low - pad, high + pad


def unpadded(low: float, high: float) -> tuple[float, float]:
    """The data range that ``padded`` turned into (low, high)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return low, high
    pad = (high - low) * X_PAD / (1 + 2 * X_PAD)
    return low + pad, high - pad


class StickyRange:
    def __init__(self, plot_item, manage_x: bool, y_span: tuple[float, float] | None = None) -> None:
        self.view = plot_item.getViewBox()
        self.view.disableAutoRange()
        self.manage_x = manage_x
        self.x_goal: float | None = None  # where x will end (the run's length), when known
        self.y_span = y_span  # always in view: (0, 0) reads a learning rate against zero
        self.following = True
        self.forced = True  # the next update sets the range whatever it is
        self.moves = 0  # view changes made here (each one redraws the axes)
        self.view.sigRangeChangedManually.connect(self._moved_by_user)

    def _moved_by_user(self, *_) -> None:
        self.following = False

    def follow(self) -> None:
        self.following = True
        self.forced = True

    def update(self, x: tuple[float, float] | None, y: tuple[float, float] | None, log_y: bool) -> None:
        """Bring the view to the data if it has left it or fills too little of it (y in log10
        units when ``log_y``)."""
        if not self.following:
            return
        (x0, x1), (y0, y1) = self.view.viewRange() if not self.forced else ((np.inf, -np.inf), (np.inf, -np.inf))
        x0, x1 = unpadded(x0, x1)
        x_range = self._x_range(x, x0, x1) if self.manage_x and x is not None else None
        y_range = self._y_range(y, y0, y1, log_y) if y is not None else None
        self.forced = False
        if x_range is None and y_range is None:
            return
        self.moves += 1
        self.view.setRange(xRange=None if x_range is None else padded(*x_range), yRange=y_range, padding=0)

    def _x_range(self, x: tuple[float, float], x0: float, x1: float) -> tuple[float, float] | None:
        low, high = x
        eps = 1e-9 * max(abs(x0), abs(x1), 1.0) if np.isfinite(x0) and np.isfinite(x1) else 0.0  # unpadding rounds
        if self.x_goal is not None and high <= self.x_goal:
            if abs(x0 - low) <= eps and high <= x1 + eps:
                return None
            return low, min(max(self.x_goal, low + 1.0), low + max(high - low, 1.0) * X_AHEAD_TO_GOAL)
        if low >= x0 - eps and high <= x1 + eps and (high - low) >= SHRINK_BELOW * (x1 - x0):
            return None
        return low, low + max(high - low, 1.0) * X_AHEAD

    def _y_range(self, y: tuple[float, float], y0: float, y1: float, log_y: bool) -> tuple[float, float] | None:
        low, high = (np.log10(y[0]), np.log10(y[1])) if log_y else y
        if self.y_span is not None and not log_y:
            low, high = min(low, self.y_span[0]), max(high, self.y_span[1])
        if low >= y0 and high <= y1 and (high - low) >= SHRINK_BELOW * (y1 - y0):
            return None
        margin = (high - low) * Y_MARGIN if high > low else max(abs(high) * 0.5, 0.5)
        return low - margin, high + margin

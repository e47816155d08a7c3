"""Torch's intra-op threads in the window: one on the GUI thread, all of them on workers.

PyTorch's CPU kernels use OpenMP, and libgomp gives every thread that starts a parallel region
a team of its own. Once the GUI thread has a team, a training worker's team is one too many for
the cores: libgomp then stops spinning between parallel regions and every small op pays a
wake-up (measured here: a ReLU on 64 x 784 took 10 us on a worker thread alone, 120 us once
the main thread had its own team; the CNN example trained 35% slower). So the GUI thread runs
torch on one thread (OpenMP's thread count is per thread) and never starts a team, and each
worker asks for the full count when it starts. :class:`FunctionThread` is such a worker for one
function: an export, a data preview, an evaluation, a training run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PySide6.QtCore import QObject, QThread

WORKER_THREADS = torch.get_num_threads()  # the machine's default, read before anyone changes it


def serial_gui_thread() -> None:
    """Call on the GUI thread before any torch work (the launcher does)."""
    torch.set_num_threads(1)


def worker_threads() -> None:
    """Call first thing on a worker thread that runs torch."""
    torch.set_num_threads(WORKER_THREADS)


class FunctionThread(QThread):
    """Runs one callable off the GUI thread; keeps its result or its exception."""

    def __init__(self, function: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.function = function
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        worker_threads()
        try:
            self.result = self.function()
        except Exception as error:  # reported by the owner on the GUI thread
            self.error = error

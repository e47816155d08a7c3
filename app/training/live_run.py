"""A training run for a window: the engine on a worker thread, reporting into a bounded channel.

The worker never touches the GUI. It puts the engine's events (and, for 2-D classification, a
decision-boundary image every ``boundary_every_s``) into an :class:`EventChannel`, which the GUI
drains on its own timer. Requests from the GUI (pause, resume, stop, the probed modules, the
train/eval mode) are taken between steps, while the engine is suspended at a ``yield``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import NNStudioError
from app.setup.modes import apply_mode
from app.training.boundary import BoundaryGrid, BoundaryImage
from app.training.engine import Engine
from app.training.events import Failed, Finished, ProbeSnapshot, Step, Stopped
from app.training.prepare import Setup
from app.training.probes import ProbeSet

CHANNEL_CAPACITY = 50_000  # events; a GUI that stops draining loses the oldest frequent ones first
BOUNDARY_EVERY_S = 0.15
FREQUENT = (Step, ProbeSnapshot)


@dataclass
class BoundaryUpdate:
    step: int
    image: BoundaryImage


class EventChannel:
    """Thread-safe and bounded: the worker puts, the GUI takes everything there is on its timer.

    When full, the oldest step, probe or boundary event is dropped (counted in ``dropped``);
    the rare events (started, epoch, finished, stopped, failed) are never dropped.
    """

    def __init__(self, capacity: int = CHANNEL_CAPACITY) -> None:
        self.capacity = capacity
        self.dropped = 0
        self._events: deque = deque()
        self._lock = threading.Lock()

    def put(self, event) -> None:
        with self._lock:
            self._events.append(event)
            if len(self._events) > self.capacity:
                self._drop_oldest_frequent()

    def _drop_oldest_frequent(self) -> None:
        for i, event in enumerate(self._events):
            if isinstance(event, (*FREQUENT, BoundaryUpdate)):
                del self._events[i]
                self.dropped += 1
                return

    def drain(self) -> list:
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events

    def __len__(self) -> int:
        return len(self._events)


class LiveRun:
    """One run; call :meth:`run` on the worker thread, the rest from any thread.

    ``setup`` may be a function that makes the Setup: it is then called on the worker thread,
    so generating or reading the data never holds the GUI thread; a failure there ends the run
    with a ``Failed`` event. Requests made before the engine exists are kept and applied.
    """

    def __init__(
        self,
        setup: Setup | Callable[[], Setup],
        probe_paths: list[str],
        probe_every: int = 10,
        channel: EventChannel | None = None,
        boundary_every_s: float = BOUNDARY_EVERY_S,
        log=None,
    ) -> None:
        self.channel = channel or EventChannel()
        self.boundary_every_s = boundary_every_s
        self.log = log  # e.g. a TensorBoardLog: handle(event), close()
        self.final: Finished | Stopped | Failed | None = None
        self.setup: Setup | None = None
        self.engine: Engine | None = None
        self.probes: ProbeSet | None = None
        self.boundary: BoundaryGrid | None = None
        self._make_setup = setup if callable(setup) else None
        self._probe_paths, self._probe_every = list(probe_paths), probe_every
        self._mode: dict | None = None  # a mode asked for, applied between steps
        self._paused = self._stopped = False
        self._lock = threading.Lock()
        if not callable(setup):
            self._ready(setup)

    def _ready(self, setup: Setup) -> None:
        with self._lock:
            self.setup = setup
            self.probes = ProbeSet(setup.core, self._probe_paths, every=self._probe_every)
            self.engine = Engine(setup, probes=self.probes)
            self.boundary = BoundaryGrid.for_data(setup.data)
            if self._paused:
                self.engine.pause()
            if self._stopped:
                self.engine.stop()

    # From the GUI thread ---------------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self.engine is not None:
                self.engine.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self.engine is not None:
                self.engine.resume()

    def stop(self) -> None:
        with self._lock:
            self._stopped, self._paused = True, False
            if self.engine is not None:
                self.engine.stop()

    @property
    def paused(self) -> bool:
        return self._paused and (self.engine is None or self.engine.paused)

    def set_probe_paths(self, paths: list[str]) -> None:
        with self._lock:
            self._probe_paths = list(paths)
            if self.probes is not None:
                self.probes.set_paths(paths)

    def set_mode(self, mode: dict) -> None:
        self._mode = mode  # one assignment: picked up by the worker before the next step

    # On the worker thread --------------------------------------------------------------------
    def run(self) -> None:
        try:
            if self.engine is None and not self._set_up():
                return
            self._train()
        finally:
            if self.log is not None:
                self.log.close()

    def _set_up(self) -> bool:
        make_setup = self._make_setup
        assert make_setup is not None  # run() sets up only a run made from a function
        try:
            self._ready(make_setup())
        except Exception as error:  # a bad dataset file, an optimizer that cannot be made ...
            message = str(error) if isinstance(error, NNStudioError) else f"{type(error).__name__}: {error}"
            self.final = Failed(0, f"the run could not start: {message}", traceback.format_exc())
            self.channel.put(self.final)
            return False
        return True

    def _train(self) -> None:
        shown = 0.0
        assert self.engine is not None  # made by _ready
        for event in self.engine.run():
            self._take_mode()
            self.channel.put(event)
            if self.log is not None:
                self.log.handle(event)
            if isinstance(event, (Finished, Stopped, Failed)):
                self.final = event
            elif isinstance(event, Step) and time.perf_counter() - shown >= self.boundary_every_s:
                shown = self._send_boundary(event.step)
        if self.final is not None and not isinstance(self.final, Failed):
            self._send_boundary(self.final.step)

    def _send_boundary(self, step: int) -> float:
        if self.boundary is not None and self.setup is not None:
            self.channel.put(BoundaryUpdate(step, self.boundary.predict(self.setup.core)))
        return time.perf_counter()

    def _take_mode(self) -> None:
        mode, self._mode = self._mode, None
        if mode is not None and self.setup is not None:
            self.setup.mode = mode  # the engine's later model.train() calls use it
            apply_mode(self.setup.core, mode)

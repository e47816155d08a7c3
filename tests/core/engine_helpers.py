"""Shared helpers for driving the training engine in tests."""

from app.training.engine import Engine
from app.training.events import Step


def run_until_step(engine: Engine, k: int) -> list:
    """Consume the run, calling stop() as soon as the k-th Step arrives."""
    events = []
    for event in engine.run():
        events.append(event)
        if isinstance(event, Step) and event.step == k:
            engine.stop()
    return events

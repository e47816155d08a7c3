"""Training memory and the device fit in words, for the summary's text and the window."""

from __future__ import annotations

from app.network.report import format_bytes
from app.setup.memory import Fit, TrainingMemory

PARTS = (
    ("parameters", "Parameters and buffers"),
    ("gradients", "Gradients"),
    ("optimizer_state", "Optimizer state"),
    ("activations", "Activations"),
)


def memory_lines(memory: TrainingMemory) -> list[str]:
    """One line per part, then the total."""
    values = memory.to_json()
    lines = [f"  {label}: {format_bytes(values[key])}" for key, label in PARTS]
    return [f"Training memory: {format_bytes(memory.total)}", *lines]


def fit_line(answer: Fit) -> str:
    if answer.capacity is None:
        return f"{answer.device}: its memory is not known here, so whether it fits cannot be told"
    room = "available" if answer.device == "cpu" else "total"
    verdict = "fits" if answer.fits else "does NOT fit"
    text = f"Batch {answer.batch_size} {verdict} {answer.device} ({format_bytes(answer.capacity)} {room})"
    if answer.max_batch_size is None:
        return text
    return f"{text}; the largest batch that fits: {answer.max_batch_size:,}"

"""Training progress on a terminal: one redrawn bar on a TTY, plain lines otherwise."""

from __future__ import annotations

import time
from typing import TextIO

from app.training.events import Checkpoint, Epoch, Event, Failed, Finished, Started, Step, Stopped

BAR_WIDTH = 24
REDRAW_S = 0.1  # a terminal needs no more than ~10 redraws a second


class Progress:
    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.total_steps = 0
        self.epochs = 0
        self.steps_per_epoch = 0
        self.first_step = 0
        self.last_draw = 0.0

    def show(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, Started):
            self.epochs, self.steps_per_epoch = event.epochs, event.steps_per_epoch
            self.total_steps = event.epochs * event.steps_per_epoch
            self.first_step = event.start_step
            self.note(
                f"training on {event.device}: {event.epochs} epochs x {event.steps_per_epoch} steps, "
                f"{event.samples} samples per epoch, {len(event.groups)} parameter group(s)"
            )
        elif isinstance(event, Step) and self.tty:
            now = time.perf_counter()
            if now - self.last_draw >= REDRAW_S or event.step == self.total_steps:
                self.last_draw = now
                self.stream.write("\r" + self._bar(event))
                self.stream.flush()
        elif isinstance(event, Epoch):
            self.note(_epoch_line(event, self.epochs))
        elif isinstance(event, Checkpoint):
            pass
        elif isinstance(event, Finished):
            self.note(f"finished: {event.step} steps in {event.elapsed_s:.1f} s")
        elif isinstance(event, Stopped | Failed):
            self.note(event.message)

    def note(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def _bar(self, event: Step) -> str:
        done = event.step / self.total_steps if self.total_steps else 0.0
        filled = int(done * BAR_WIDTH)
        steps_per_s = (event.step - self.first_step) / event.elapsed_s if event.elapsed_s > 0 else 0.0
        eta = (self.total_steps - event.step) / steps_per_s if steps_per_s > 0 else 0.0
        accuracy = f" acc {event.accuracy:.3f}" if event.accuracy is not None else ""
        return (
            f"epoch {event.epoch + 1}/{self.epochs} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{done:4.0%} step {event.step}/{self.total_steps} loss {event.loss:.4f}{accuracy} "
            f"{event.samples_per_s:,.0f} samples/s ETA {_clock(eta)}\033[K"
        )


def _epoch_line(event: Epoch, epochs: int) -> str:
    parts = [f"epoch {event.epoch}/{epochs}", f"loss {event.train_loss:.4f}"]
    if event.train_accuracy is not None:
        parts.append(f"acc {event.train_accuracy:.3f}")
    if event.val_loss is not None:
        parts.append(f"val_loss {event.val_loss:.4f}")
    if event.val_accuracy is not None:
        parts.append(f"val_acc {event.val_accuracy:.3f}")
    parts.append("lr " + ", ".join(f"{lr:.3g}" for lr in event.lrs))
    return "  ".join(parts)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"

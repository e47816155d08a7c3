"""Training events as TensorBoard event files (``nnstudio train --tensorboard DIR``).

:class:`TensorBoardLog` consumes the engine's events (:mod:`app.training.events`) and writes, by
optimizer step:

- ``train/loss`` every step; ``train/accuracy``, ``grad_norm/<group>``, ``lr/<group>`` and
  ``train/samples_per_s`` on the steps the engine measures them (every few steps; the learning
  rates also whenever one changes);
- ``epoch/train_loss``, ``epoch/train_accuracy``, ``epoch/val_loss``, ``epoch/val_accuracy`` at
  the step each epoch ends;
- a histogram ``probes/<module>/<activation|gradient>`` (and its ``_zero_fraction``) per probed
  module on sampled steps, from the probes' own counts and fixed bin edges.

It is called for every event, so it stays cheap: one record per event, built straight from
TensorBoard's protobufs and appended to a buffered file in the calling thread, flushed every
few seconds (about 30 us a step; torch's ``SummaryWriter`` hands every record to a writer thread
and costs about 130 us). The files are the standard ``events.out.tfevents.*`` that TensorBoard
and ``torch.utils.tensorboard`` write. It is Qt-free, so the desktop app's training worker uses
it as the headless run does: ``handle(event)``, ``close()``.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import socket
import struct
import time
from pathlib import Path
from typing import Any

from app.errors import NNStudioError
from app.training.events import Epoch, Event, Failed, Finished, ProbeSnapshot, Started, Step, Stopped
from app.training.probes import ProbeStats

INSTALL_HINT = 'pip install "nnstudio[tensorboard]"'
FLUSH_SECS = 5
_file_ids = itertools.count()


def require_tensorboard() -> Any:
    """TensorBoard's protobuf and record modules, or a clear error when the package is missing."""
    try:
        import torch.utils.tensorboard  # noqa: F401  (torch's own check of the tensorboard package)
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    except ImportError as error:
        raise NNStudioError(
            f"TensorBoard logging needs the tensorboard package, which is not installed ({error}); "
            f"install it with: {INSTALL_HINT}",
            "tensorboard",
        ) from None
    return event_pb2, summary_pb2, masked_crc32c


class _EventFile:
    """One ``events.out.tfevents.*`` file: TFRecords of Event protobufs, written synchronously."""

    def __init__(self, log_dir: Path, flush_secs: float) -> None:
        self._event_pb2, _, self._crc = require_tensorboard()
        log_dir.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{next(_file_ids)}"
        self.path = log_dir / name
        self._file = open(self.path, "wb")
        self._flush_secs = flush_secs
        self._next_flush = 0.0
        self._header_crcs: dict[int, bytes] = {}
        self.add(self._event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()

    def add(self, event) -> None:
        data = event.SerializeToString()
        header = self._header_crcs.get(len(data))
        if header is None:  # records of one kind have one length: its header is computed once
            length = struct.pack("<Q", len(data))
            header = self._header_crcs.setdefault(len(data), length + struct.pack("<I", self._crc(length)))
        self._file.write(header + data + struct.pack("<I", self._crc(data)))
        now = time.monotonic()
        if now >= self._next_flush:
            self._file.flush()
            self._next_flush = now + self._flush_secs

    def add_summary(self, summary, step: int) -> None:
        self.add(self._event_pb2.Event(summary=summary, wall_time=time.time(), step=int(step)))

    def flush(self) -> None:
        self._file.flush()
        self._next_flush = time.monotonic() + self._flush_secs

    def close(self) -> None:
        self._file.close()


class TensorBoardLog:
    """Write training events under ``log_dir`` (created if needed) for ``tensorboard --logdir``."""

    def __init__(self, log_dir: str | os.PathLike, flush_secs: float = FLUSH_SECS) -> None:
        _, summary_pb2, _ = require_tensorboard()
        self._summary, self._histogram = summary_pb2.Summary, summary_pb2.HistogramProto
        self.log_dir = str(log_dir)
        try:
            self._writer = _EventFile(Path(log_dir), flush_secs)
        except OSError as error:
            raise NNStudioError(
                f"cannot write TensorBoard logs there: {error.strerror or error}", self.log_dir
            ) from None
        self._groups: list[str] = []
        self._last_lrs: list[float] = []
        self._closed = False

    def handle(self, event: Event) -> None:
        if self._closed:
            return
        if isinstance(event, Step):
            self._step(event)
        elif isinstance(event, Epoch):
            self._epoch(event)
        elif isinstance(event, ProbeSnapshot):
            self._probes(event)
        elif isinstance(event, Started):
            self._groups = _unique_tags(event.groups)
            self._last_lrs = []
        elif isinstance(event, (Finished, Stopped, Failed)):
            self._writer.flush()

    def flush(self) -> None:
        if not self._closed:
            self._writer.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.close()

    def __enter__(self) -> TensorBoardLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Events ----------------------------------------------------------------------------------
    def _step(self, event: Step) -> None:
        values = [("train/loss", event.loss)]
        norms = event.grad_norms
        measured = norms is not None
        if event.accuracy is not None:
            values.append(("train/accuracy", event.accuracy))
        if norms is not None:
            values += [(f"grad_norm/{group}", norm) for group, norm in zip(self._names(len(norms)), norms)]
            values.append(("train/samples_per_s", event.samples_per_s))
        if measured or event.lrs != self._last_lrs:
            values += [(f"lr/{group}", lr) for group, lr in zip(self._names(len(event.lrs)), event.lrs)]
            self._last_lrs = list(event.lrs)
        self._write(values, event.step)

    def _epoch(self, event: Epoch) -> None:
        values = [
            ("epoch/train_loss", event.train_loss),
            ("epoch/train_accuracy", event.train_accuracy),
            ("epoch/val_loss", event.val_loss),
            ("epoch/val_accuracy", event.val_accuracy),
        ]
        self._write([(tag, value) for tag, value in values if value is not None], event.step)

    def _probes(self, event: ProbeSnapshot) -> None:
        values = []
        for stats in event.stats:
            tag = f"probes/{_tag(stats.path) or 'model'}/{stats.kind}"
            values.append(self._summary.Value(tag=tag, histo=self._histogram_of(stats)))
            values.append(self._summary.Value(tag=f"{tag}_zero_fraction", simple_value=stats.zero_fraction))
        if values:
            self._writer.add_summary(self._summary(value=values), event.step)

    def _histogram_of(self, stats: ProbeStats):
        """TensorBoard's bucket i spans (limit[i-1], limit[i]], the first from ``min``, the last to
        ``max``: the probes' end bins hold the values outside their fixed range, as here."""
        edges, counts = stats.edges, stats.hist
        low = stats.min if math.isfinite(stats.min) else float(edges[0])
        high = stats.max if math.isfinite(stats.max) else float(edges[-1])
        total = float(stats.count)
        mean = stats.mean if math.isfinite(stats.mean) else 0.0
        variance = stats.std * stats.std * max(total - 1.0, 0.0) / total if math.isfinite(stats.std) and total else 0.0
        return self._histogram(
            min=low,
            max=high,
            num=total,
            sum=mean * total,
            sum_squares=(variance + mean * mean) * total,
            bucket_limit=[float(edge) for edge in edges[1:]],
            bucket=[float(count) for count in counts],
        )

    def _write(self, values: list[tuple[str, float]], step: int) -> None:
        summary = self._summary(value=[self._summary.Value(tag=tag, simple_value=value) for tag, value in values])
        self._writer.add_summary(summary, step)

    def _names(self, count: int) -> list[str]:
        if len(self._groups) == count:
            return self._groups
        return [f"group{i}" for i in range(count)] if count > 1 else ["default"]


def _tag(text: str) -> str:
    """A tag TensorBoard shows and filters cleanly: letters, digits, _ . - and /."""
    return re.sub(r"[^\w.\-/]+", "_", text).strip("_/")


def _unique_tags(labels: list[str]) -> list[str]:
    tags: list[str] = []
    for index, label in enumerate(labels):
        tag = _tag(label) or f"group{index}"
        tags.append(tag if tag not in tags else f"{tag}_{index}")
    return tags


__all__ = ["TensorBoardLog", "INSTALL_HINT", "require_tensorboard"]

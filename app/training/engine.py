"""The one training loop: an iterator of events, with pause, resume and stop between steps.

Headless runs and the desktop app both consume ``Engine.run()``. Pause / resume / stop may be
called from another thread; they take effect before the next step. A non-finite loss or
gradient stops the run before the optimizer step, so the weights are the last good ones. Any
exception becomes a ``Failed`` event: the calling process carries on.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

from app.errors import NNStudioError
from app.setup.optim import grad_norms
from app.training.checkpoint import TrainingState, restore_rng, rng_state, save_checkpoint
from app.training.evaluate import Totals, accuracy, evaluate_split
from app.training.events import Checkpoint, Epoch, Event, Failed, Finished, ProbeSnapshot, Started, Step, Stopped
from app.training.prepare import Setup
from app.training.probes import ProbeSet

VAL_BATCH_FACTOR = 4  # validation needs no gradients: bigger batches
# Accuracy takes a few small tensor ops, and on a CPU with several threads a small op costs tens
# of microseconds: it is measured every N steps (and the first step), and the gradient norms are
# reported then. The loss and the gradients are checked for inf and NaN every step.
METRICS_EVERY = 10


class Engine:
    def __init__(
        self,
        setup: Setup,
        *,
        probes: ProbeSet | None = None,
        checkpoint_dir: Path | None = None,
        resume: TrainingState | None = None,
        checkpoint_every: int = 1,
        metrics_every: int = METRICS_EVERY,
    ) -> None:
        self.setup = setup
        self.probes = probes
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_every = max(1, checkpoint_every)
        self.metrics_every = max(1, metrics_every)
        self.resume_state = resume
        self.step = 0
        self.epoch = 0
        self.batch = 0
        self._last_input: torch.Tensor | None = None  # the batch in flight, to explain a failure
        self._snapshot: list | None = None  # the probe statistics of the step just taken, where sampled
        self._backup = _BufferBackup(setup.core)
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    # Control, from any thread.
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def run(self) -> Iterator[Event]:
        try:
            yield from self._run()
        except Exception as error:  # the run ends; the process, and the last good weights, stay
            if self.probes is not None:
                self.probes.detach()  # before _explain's meta forward: probe hooks cannot read meta tensors
            yield Failed(self.step, self._explain(error), traceback.format_exc())
        finally:
            if self.probes is not None:
                self.probes.close()

    def _run(self) -> Iterator[Event]:
        s = self.setup
        if self.resume_state is not None:
            self._restore(self.resume_state)
        else:
            torch.manual_seed(s.config.seed)  # dropout and friends: the same in every run
        yield Started(
            s.config.epochs, len(s.batches), self.epoch, self.step, str(s.device), list(s.groups), s.batches.samples
        )
        clock = _ActiveClock()
        for epoch in range(self.epoch, s.config.epochs):
            self.epoch = epoch
            s.model.train(s.mode.get("training", True))
            totals = Totals()
            for batch, (x, y) in enumerate(s.batches.epoch(epoch, self.batch), start=self.batch):
                clock.pause_while(self._running)
                if self._stop.is_set():
                    yield from self._stopped("user", f"stopped by the user after step {self.step}")
                    return
                self.batch = batch
                event = self._train_step(x, y, totals, clock)
                if isinstance(event, Stopped):
                    yield event
                    return
                self.batch = batch + 1
                yield event
                if self._snapshot is not None:
                    yield ProbeSnapshot(self.step, self._snapshot)
            self.epoch, self.batch = epoch + 1, 0
            yield self._end_of_epoch(epoch, totals)
            if self.checkpoint_dir is not None and (epoch + 1) % self.checkpoint_every == 0:
                yield self._checkpoint()
        yield Finished(self.step, self.epoch, clock.elapsed, self._rank_digests())

    def _train_step(self, x: torch.Tensor, y: torch.Tensor, totals: Totals, clock: _ActiveClock) -> Event:
        s = self.setup
        self._last_input = x
        if x.device != s.device:
            x, y = x.to(s.device, non_blocking=True), y.to(s.device, non_blocking=True)
        probes = self.probes if self.probes is not None and self.probes.is_sampled(self.step + 1) else None
        if probes is not None:  # a sampled step (steps count from 1)
            probes.attach()
        buffers = self._backup.save()  # a step that is not taken must not leave NaN running stats
        # Before the forward, as in a hand-written loop: the old gradients are freed before the
        # activations are allocated, so the allocator reuses their memory (measured ~4% on an MLP)
        s.optimizer.zero_grad(set_to_none=True)
        output = s.model(x)
        loss = self._loss(output, y)
        loss.backward()
        # Read after the backward pass, not between it and the forward: that order measured ~1.5%
        # faster on a 2 ms MLP step. A non-finite loss still stops the run before the optimizer step.
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            return self._nonfinite(f"the loss is {loss_value}", buffers)
        # Every step, whatever the metrics cadence: one inf or NaN gradient applied makes the weights
        # NaN for good. A BLAS dot product per gradient (~2% of a 2 ms MLP step on 2 cores).
        norms = grad_norms(s.optimizer)
        if not all(math.isfinite(n) for n in norms):
            return self._nonfinite("a gradient is not finite", buffers)
        measured = (self.step + 1) % self.metrics_every == 0 or self.step == 0
        # Read with the metrics, before the optimizer step: the values are the forward pass's, and
        # the sampled step's numpy work comes in one run instead of two (no measurable gain alone)
        self._snapshot = probes.collect(self.step + 1) if probes is not None else None
        s.optimizer.step()
        if s.scheduler is not None and s.scheduler_config is not None and s.scheduler_config.per_batch:
            s.scheduler.step()
        self.step += 1
        batch_accuracy = accuracy(output, y) if measured and s.data.task == "classification" else None
        totals.add(loss_value, batch_accuracy, len(y))
        clock.samples += len(y)
        elapsed = clock.elapsed
        return Step(
            self.step,
            self.epoch,
            self.batch,
            loss_value,
            batch_accuracy,
            _lrs(s.optimizer),
            norms if measured else None,
            clock.samples / elapsed if elapsed > 0 else 0.0,
            elapsed,
        )

    def _loss(self, output, target: torch.Tensor) -> torch.Tensor:
        try:
            return self.setup.loss_fn(output, target)
        except (RuntimeError, IndexError, ValueError) as error:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise NNStudioError(
                f"{type(self.setup.loss_fn).__name__} cannot compare the network's output {got} with the "
                f"target {tuple(target.shape)} {str(target.dtype).removeprefix('torch.')}: {error}",
                "training.loss",
            ) from error

    def _explain(self, error: Exception) -> str:
        if isinstance(error, NNStudioError):
            return str(error)
        """A shape error from the data names the layer, as the summary would."""
        message = f"{type(error).__name__}: {error}"
        if self._last_input is None or not isinstance(error, RuntimeError):
            return message
        from app.network.analysis import analyse
        from app.network.inputs import InputSpec

        shape, dtype = list(self._last_input.shape), str(self._last_input.dtype).removeprefix("torch.")
        found = analyse(self.setup.core, [InputSpec(shape, dtype)], counts=False).error
        return f"{found} (a batch of shape {tuple(shape)} from the data)" if found is not None else message

    def _nonfinite(self, what: str, buffers: _BufferBackup) -> Stopped:
        if self.probes is not None:
            self.probes.detach()
        self.setup.optimizer.zero_grad(set_to_none=True)
        buffers.restore()
        return Stopped(
            self.step,
            self.epoch,
            "nonfinite",
            f"{what} at step {self.step + 1} (epoch {self.epoch + 1}, batch {self.batch + 1}); "
            f"the run stopped and kept the weights from after step {self.step}",
        )

    def _stopped(self, reason: str, message: str) -> Iterator[Event]:
        if self.checkpoint_dir is not None:
            yield self._checkpoint()
        yield Stopped(self.step, self.epoch, reason, message)

    def _end_of_epoch(self, epoch: int, totals: Totals) -> Epoch:
        s = self.setup
        val_loss, val_accuracy = self._validate()
        if s.scheduler is not None and s.scheduler_config is not None and not s.scheduler_config.per_batch:
            if isinstance(s.scheduler, ReduceLROnPlateau):
                measured = val_loss if val_loss is not None else totals.mean_loss()
                if measured is not None:  # an epoch with no batches (resumed at its end) has nothing to go on
                    s.scheduler.step(measured)
            else:
                s.scheduler.step()
        return Epoch(
            epoch + 1, self.step, totals.mean_loss(), totals.mean_accuracy(), val_loss, val_accuracy, _lrs(s.optimizer)
        )

    def _validate(self) -> tuple[float | None, float | None]:
        s = self.setup
        if len(s.data.x_val) == 0:
            return None, None
        s.model.eval()
        try:
            return evaluate_split(
                s.model, s.loss_fn, s.data, "validation", s.config.batch_size * VAL_BATCH_FACTOR, s.device
            )
        finally:
            s.model.train(s.mode.get("training", True))

    def state(self) -> TrainingState:
        s = self.setup
        scheduler = s.scheduler.state_dict() if s.scheduler is not None else None
        return TrainingState(
            self.step,
            self.epoch,
            self.batch,
            s.core.state_dict(),
            s.optimizer.state_dict(),
            scheduler,
            rng_state(s.device),
        )

    def _checkpoint(self) -> Checkpoint:
        assert self.checkpoint_dir is not None  # checkpoints are only written when there is a folder
        path = save_checkpoint(self.checkpoint_dir / "checkpoint", self.state())
        return Checkpoint(str(path), self.step, self.epoch)

    def _restore(self, state: TrainingState) -> None:
        s = self.setup
        s.core.load_state_dict(state.model)
        s.optimizer.load_state_dict(state.optimizer)
        if s.scheduler is not None and state.scheduler is not None:
            s.scheduler.load_state_dict(state.scheduler)
        restore_rng(state.rng, s.device)
        self.step, self.epoch, self.batch = state.step, state.epoch, state.batch

    def _rank_digests(self) -> list[str]:
        if self.setup.world_size <= 1:
            return []
        from app.training.distributed import gather_weight_digests

        return gather_weight_digests(self.setup.core)


class _BufferBackup:
    """A copy of the model's buffers (BatchNorm running stats) from before the current step."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.buffers = [b for b in module.buffers() if b.numel()]
        self.copies = [b.detach().clone() for b in self.buffers]

    def save(self) -> _BufferBackup:
        if self.buffers:  # no decorator: a no_grad context per step costs more than the check
            with torch.no_grad():
                torch._foreach_copy_(self.copies, self.buffers)
        return self

    def restore(self) -> None:
        if self.buffers:
            with torch.no_grad():
                torch._foreach_copy_(self.buffers, self.copies)


def _lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    return [float(group["lr"]) for group in optimizer.param_groups]


class _ActiveClock:
    """Wall time that leaves out pauses, for samples/s and elapsed."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.paused_for = 0.0
        self.samples = 0

    def pause_while(self, running: threading.Event) -> None:
        if running.is_set():
            return
        began = time.perf_counter()
        running.wait()
        self.paused_for += time.perf_counter() - began

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused_for

    def rate(self) -> float:
        return self.samples / self.elapsed if self.elapsed > 0 else 0.0

"""``nnstudio train``: the engine on a terminal, writing metrics.jsonl, weights and a checkpoint.

Ctrl+C stops after the current step and saves a checkpoint (a second Ctrl+C aborts). With
``--ddp`` under torchrun every rank trains; only rank 0 prints and writes files.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import IO, Any

from app.atomic import write_all_atomic
from app.cli.consent import load_project_with_consent
from app.cli.progress import Progress
from app.errors import NNStudioError
from app.project.weights import prepare_tensors, writer
from app.setup.devices import parse_placement
from app.training import distributed
from app.training.checkpoint import load_checkpoint
from app.training.engine import Engine
from app.training.events import Event, Failed, Stopped, event_json
from app.training.prepare import prepare
from app.training.probes import ProbeSet

EXIT_INTERRUPTED = 130


def run_train(args: argparse.Namespace) -> int:
    project = load_project_with_consent(args.project, args)
    context = None
    placement = args.device
    if args.ddp:
        context = distributed.start(parse_placement(args.device or project.device, "--device"))
        placement = str(context.placement)
    try:
        return _train(args, project, placement, context)
    finally:
        if context is not None:
            distributed.stop()


def _train(args, project, placement, context) -> int:
    rank, world = (context.rank, context.world_size) if context else (0, 1)
    if getattr(args, "tensorboard", None) and rank == 0:
        from app.interop.tensorboard_log import require_tensorboard

        require_tensorboard()  # a missing package is reported before any work
    wrap = (lambda model: distributed.wrap(model, context)) if context else None
    setup = prepare(project, placement=placement, epochs=args.epochs, rank=rank, world_size=world, wrap=wrap)
    main = rank == 0
    out = Path(args.out) if args.out else Path("runs") / Path(args.project).stem
    if main:
        out.mkdir(parents=True, exist_ok=True)
    resume = load_checkpoint(args.resume)[0] if args.resume else None
    modules = project.probes.get("modules", [])
    probes = ProbeSet(setup.core, modules, every=project.probes.get("every", 10)) if modules else None
    engine = Engine(setup, probes=probes, checkpoint_dir=out if main else None, resume=resume)
    progress = Progress(sys.stderr, enabled=main)
    final = None
    with (
        _metrics_file(out, resume is not None, main) as metrics,
        _stop_on_interrupt(engine),
        _tensorboard(getattr(args, "tensorboard", None), main) as board,
    ):
        for event in engine.run():
            if metrics is not None:
                metrics.write(json.dumps(event_json(event)) + "\n")
            if board is not None:
                board.handle(event)
            progress.show(event)
            final = event
    if main:
        write_all_atomic([(out / "weights.safetensors", writer(prepare_tensors(setup.core.state_dict())))])
        progress.note(f"weights: {out / 'weights.safetensors'}; metrics: {out / 'metrics.jsonl'}")
    return _exit_code(final, out, progress)


def _exit_code(final: Event | None, out: Path, progress: Progress) -> int:
    if isinstance(final, Failed):
        raise NNStudioError(final.message, "train")
    if isinstance(final, Stopped):
        if final.reason == "nonfinite":
            raise NNStudioError(final.message, "train")
        progress.note(f"{final.message}; resume with --resume {out / 'checkpoint.json'}")
        return EXIT_INTERRUPTED
    return 0


class _metrics_file:
    def __init__(self, out: Path, append: bool, main: bool) -> None:
        self.path = out / "metrics.jsonl" if main else None
        self.mode = "a" if append else "w"
        self.file: IO[str] | None = None

    def __enter__(self):
        if self.path is not None:
            self.file = open(self.path, self.mode, encoding="utf-8", buffering=1)
        return self.file

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()


class _tensorboard:
    """TensorBoard event files under ``--tensorboard DIR`` (rank 0 only); a missing package is
    reported before training starts."""

    def __init__(self, log_dir: str | None, main: bool) -> None:
        self.board = None
        if log_dir and main:
            from app.interop.tensorboard_log import TensorBoardLog

            self.board = TensorBoardLog(log_dir)

    def __enter__(self):
        return self.board

    def __exit__(self, *exc) -> None:
        if self.board is not None:
            self.board.close()


class _stop_on_interrupt:
    """The first Ctrl+C asks the engine to stop after this step; the second one aborts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.previous: Any = None  # the SIGINT handler to put back (a function, SIG_DFL or SIG_IGN)

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: no signal handling
            self.previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.engine.stopping:
            raise KeyboardInterrupt
        self.engine.stop()

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

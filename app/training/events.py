"""What the training engine reports, as small plain objects (numbers and numpy, never live tensors)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from app.training.probes import ProbeStats


@dataclass
class Started:
    epochs: int
    steps_per_epoch: int
    start_epoch: int
    start_step: int
    device: str
    groups: list[str]  # a label per optimizer param group
    samples: int  # training samples per epoch


@dataclass(slots=True)
class Step:
    step: int  # optimizer steps done, counting from 1
    epoch: int
    batch: int
    loss: float
    accuracy: float | None  # classification only, every METRICS_EVERY steps (else None)
    lrs: list[float]  # per param group
    grad_norms: list[float] | None  # per param group, before the step; every METRICS_EVERY steps (checked: all)
    samples_per_s: float
    elapsed_s: float


@dataclass
class Epoch:
    epoch: int
    step: int
    train_loss: float | None  # None for an epoch with no batches left (a run resumed at its end)
    train_accuracy: float | None  # over the batches where it was measured
    val_loss: float | None
    val_accuracy: float | None
    lrs: list[float]


@dataclass
class ProbeSnapshot:
    step: int
    stats: list[ProbeStats] = field(default_factory=list)


@dataclass
class Checkpoint:
    path: str
    step: int
    epoch: int


@dataclass
class Finished:
    step: int
    epoch: int
    elapsed_s: float
    rank_digests: list[str] = field(default_factory=list)  # DDP: a digest of each rank's weights


@dataclass
class Stopped:
    step: int
    epoch: int
    reason: str  # "user" | "nonfinite"
    message: str


@dataclass
class Failed:
    step: int
    message: str
    traceback: str


Event = Started | Step | Epoch | ProbeSnapshot | Checkpoint | Finished | Stopped | Failed


def event_json(event: Event) -> dict:
    """One line of metrics.jsonl. Probe histograms become lists."""
    data = asdict(event)
    if isinstance(event, ProbeSnapshot):
        data["stats"] = [
            {
                **{k: v for k, v in asdict(s).items() if k not in ("hist", "edges")},
                "hist": s.hist.tolist(),
                "edges": s.edges.tolist(),
            }
            for s in event.stats
        ]
    return {"event": type(event).__name__.lower(), **data}

"""The data and training half of an exported script: load_data(), batches(), evaluate(), main().

The split and the batch order are :mod:`app.data.loading`'s (seeded ``randperm``), and the loop is the
engine's step (forward, loss, zero_grad, backward, step, scheduler), so ``python model.py``
reaches the weights ``nnstudio train`` reaches on the same device.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from app.data.loading import SEED_STRIDE
from app.interop.script_datasets import generator_call, generator_source
from app.interop.script_files import reader_settings, reader_source
from app.setup.training_section import TrainingConfig
from app.training.engine import VAL_BATCH_FACTOR

USER_FILES = ("csv", "npz")

SPLIT_AND_BATCHES = Template('''
def load_data($parameter) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(x_train, y_train), (x_val, y_val): the samples, split at random with DATA_SEED."""
    x, y = $samples
    count = len(x)
    val_count = min(round(count * VAL_SPLIT), count - 1)  # always keep one sample to train on
    order = torch.randperm(count, generator=torch.Generator().manual_seed(DATA_SEED % 2**64))
    # Each part keeps the samples' order; the batches shuffle anyway.
    val, train = order[:val_count].sort().values, order[val_count:].sort().values
    return (x[train], y[train]), (x[val], y[val])


def batches(x: torch.Tensor, y: torch.Tensor, epoch: int):
    """Mini-batches whose order depends only on (TRAINING_SEED, epoch), so a run can be repeated."""
    if SHUFFLE:
        generator = torch.Generator().manual_seed((TRAINING_SEED * $stride + epoch) % 2**64)
        order = torch.randperm(len(x), generator=generator)
    else:
        order = torch.arange(len(x))
    for start in range(0, len(order), BATCH_SIZE):
        chosen = order[start:start + BATCH_SIZE]
        yield x[chosen], y[chosen]
''')

CORRECT = '''
def correct(output: torch.Tensor, target: torch.Tensor) -> int:
    """How many samples the highest-scoring class gets right."""
    return int((output.argmax(dim=1) == target).sum())
'''

EVALUATE = Template('''
@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor, device) -> $returns:
    """The validation loss$and_accuracy, in eval mode and in batches of BATCH_SIZE * $factor."""
    model.eval()
    total_loss, total_correct = 0.0, 0
    for start in range(0, len(x), BATCH_SIZE * $factor):
        inputs = x[start:start + BATCH_SIZE * $factor].to(device)
        target = y[start:start + BATCH_SIZE * $factor].to(device)
        output = model(inputs)
        total_loss += loss_fn(output, target).item() * len(target)$count_correct
    model.train(TRAINING)
    return total_loss / len(x)$return_accuracy
''')

MAIN = Template("""
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default %(default)s; 0 only builds")
    parser.add_argument("--device", default=DEVICE, help="cpu, cuda or cuda:N (default %(default)s)")$data_option
    parser.add_argument("--save", metavar="FILE.pt", help="save the trained state_dict with torch.save")
    args = parser.parse_args(argv)
    if args.epochs < 0:
        parser.error("--epochs must be 0 or more")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"{args.device} is not available here: training on the CPU")
        device = torch.device("cpu")

    model = build_model().to(device)
    optimizer = build_optimizer(model)
    loss_fn = build_loss().to(device)
    (x_train, y_train), (x_val, y_val) = load_data($data_argument)$make_scheduler
    print(model)
    print(optimizer)
    print(f"{len(x_train)} training samples, {len(x_val)} validation samples, on {device}")

    torch.manual_seed(TRAINING_SEED)  # dropout and friends draw the same numbers in every run
    for epoch in range(args.epochs):
        model.train(TRAINING)
        total_loss, total_correct, seen = 0.0, 0, 0
        for x, y in batches(x_train, y_train, epoch):
            x, y = x.to(device), y.to(device)
            output = model(x)
            loss = loss_fn(output, y)
            value = loss.item()
            if not math.isfinite(value):
                raise SystemExit(f"the loss is {value} in epoch {epoch + 1}: training stopped")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()$batch_step
            total_loss += value * len(y)$count_correct
            seen += len(y)
        report = f"epoch {epoch + 1}/{args.epochs}: loss {total_loss / seen:.4f}"$report_accuracy$no_val_loss
        if len(x_val):
            $validation$epoch_step
        print(report)

    if args.save:
        torch.save(model.state_dict(), args.save)
        print(f"weights saved to {args.save}")
""")


def data_settings(config: TrainingConfig, base_dir: Path) -> list[str]:
    """Script constants for the data and the loop."""
    args = config.dataset
    lines = [
        f"EPOCHS = {config.epochs}",
        f"BATCH_SIZE = {config.batch_size}",
        f"VAL_SPLIT = {config.val_split!r}",
        f"SHUFFLE = {config.shuffle!r}",
        f"TRAINING_SEED = {config.seed}  # seeds the batch order and the training's random numbers",
        f"DATA_SEED = {args['seed']}  # seeds the samples (built-in datasets) and the validation split",
    ]
    if args["name"] in USER_FILES:
        lines += reader_settings(args, str(data_path(args["path"], base_dir)))
    return lines


def data_path(text: str, base_dir: Path) -> Path:
    """The data file, as the app finds it: relative to the project's folder."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


def is_classification(config: TrainingConfig) -> bool:
    args = config.dataset
    return args.get("task", "regression" if args["name"] == "sine" else "classification") == "classification"


def data_source(config: TrainingConfig) -> str:
    """The generator or reader, load_data() and batches()."""
    name = config.dataset["name"]
    if name in USER_FILES:
        reader = reader_source(name)
        samples = f"read_{name}(path)"
        parameter = "path: str = DATA_FILE"
    else:
        reader = generator_source(config.dataset)
        samples = generator_call(config.dataset)
        parameter = ""
    split = SPLIT_AND_BATCHES.substitute(parameter=parameter, samples=samples, stride=SEED_STRIDE).strip("\n")
    return f"{reader}\n\n\n{split}"


def training_source(config: TrainingConfig, scheduler_type: str | None) -> str:
    """evaluate() and main(): the loop, printing the loss of every epoch."""
    classification = is_classification(config)
    evaluate = EVALUATE.substitute(
        factor=VAL_BATCH_FACTOR,
        returns="tuple[float, float]" if classification else "float",
        and_accuracy=" and accuracy" if classification else "",
        count_correct="\n        total_correct += correct(output, target)" if classification else "",
        return_accuracy=", total_correct / len(x)" if classification else "",
    ).strip("\n")
    if classification:
        validation = (
            "val_loss, val_accuracy = evaluate(model, loss_fn, x_val, y_val, device)\n"
            '            report += f", val_loss {val_loss:.4f}, val_accuracy {val_accuracy:.3f}"'
        )
    else:
        validation = (
            "val_loss = evaluate(model, loss_fn, x_val, y_val, device)\n"
            '            report += f", val_loss {val_loss:.4f}"'
        )
    file_data = config.dataset["name"] in USER_FILES
    main = MAIN.substitute(
        data_option='\n    parser.add_argument("--data", default=DATA_FILE, help="the data file (default %(default)s)")'
        if file_data
        else "",
        data_argument="args.data" if file_data else "",
        batch_step="\n            scheduler.step()  # OneCycleLR steps after every batch"
        if scheduler_type == "OneCycleLR"
        else "",
        count_correct="\n            total_correct += correct(output, y)" if classification else "",
        report_accuracy='\n        report += f", accuracy {total_correct / seen:.3f}"' if classification else "",
        validation=validation,
        make_scheduler="\n    steps_per_epoch = max(1, math.ceil(len(x_train) / BATCH_SIZE))"
        "\n    scheduler = build_scheduler(optimizer, args.epochs, steps_per_epoch)"
        if scheduler_type
        else "",
        no_val_loss="\n        val_loss = None" if scheduler_type == "ReduceLROnPlateau" else "",
        epoch_step=_epoch_step(scheduler_type),
    ).strip("\n")
    main = "\n".join(line.rstrip() for line in main.splitlines())
    parts = [CORRECT.strip("\n")] if classification else []
    return "\n\n\n".join([*parts, evaluate, main])


def _epoch_step(scheduler_type: str | None) -> str:
    indent = "\n        "
    if scheduler_type == "ReduceLROnPlateau":
        return f"{indent}scheduler.step(val_loss if val_loss is not None else total_loss / seen)"
    if scheduler_type in ("StepLR", "CosineAnnealingLR"):
        return f"{indent}scheduler.step()  # after every epoch"
    return ""


NO_TRAINING = '''
def main() -> None:
    """The project has no training section: build the model and show what PyTorch sees."""
    model = build_model()
    print(model)
    print(build_optimizer(model))
'''

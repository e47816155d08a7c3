"""Reading the user's own data: a CSV table or an .npz archive of arrays.

Both are data only: the CSV goes through the ``csv`` module, the archive through ``np.load``
with ``allow_pickle=False``, so no file can run code. Every failure is an NNStudioError that
names the file and, for a CSV, the line and column at fault.
"""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from app.data.datasets import MAX_CLASSES, Samples
from app.errors import NNStudioError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def resolve_path(text: str, base_dir: Path | None, where: str) -> Path:
    """The file a dataset's ``path`` names: relative to the project's folder, or absolute."""
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    try:
        exists, is_file = path.exists(), path.is_file()
    except (OSError, ValueError) as error:  # a NUL byte, a name too long, a path we may not stat
        raise NNStudioError(f"{text}: not a usable path ({error})", where) from None
    if not exists:
        raise NNStudioError(f"{text}: no such file (looked for {path})", where)
    if not is_file:
        raise NNStudioError(f"{text}: is not a file ({path})", where)
    return path


def load_csv(args: dict, base_dir: Path | None, where: str) -> Samples:
    name = args["path"]
    header, rows = _read_table(resolve_path(name, base_dir, f"{where}.path"), name, f"{where}.path")
    target = args["target"]
    if target not in header:
        raise NNStudioError(f"{name} has no column {target!r} (its columns: {_names(header)})", f"{where}.target")
    features = args["features"]
    if features is None:
        features = [column for column in header if column != target]
        if not features:
            raise NNStudioError(f"{name} has no columns besides the target {target!r}", f"{where}.features")
    else:
        missing = [column for column in features if column not in header]
        if missing:
            raise NNStudioError(
                f"{name} has no column(s) {_names(missing)} (its columns: {_names(header)})", f"{where}.features"
            )
        if target in features:
            raise NNStudioError(f"the target {target!r} cannot also be a feature", f"{where}.features")
    where_file = f"{where}.path"
    columns = [header.index(column) for column in features]
    x = np.empty((len(rows), len(columns)), dtype=np.float32)
    for row_index, (line, row) in enumerate(rows):
        for out, column in enumerate(columns):
            x[row_index, out] = _number(row[column], name, line, header[column], where_file)
    target_column = header.index(target)
    cells = [(line, row[target_column]) for line, row in rows]
    if args["task"] == "regression":
        y = np.array([[_number(cell, name, line, target, where_file)] for line, cell in cells], dtype=np.float32)
        return Samples(
            torch.from_numpy(x),
            torch.from_numpy(y),
            "regression",
            None,
            f"csv {name}: {len(rows)} rows, {len(columns)} features, regression on {target!r}",
        )
    labels, classes, names = _class_labels(cells, name, target, where_file)
    return Samples(
        torch.from_numpy(x),
        torch.from_numpy(labels),
        "classification",
        classes,
        f"csv {name}: {len(rows)} rows, {len(columns)} features, {classes} classes in {target!r}",
        names,
    )


def _read_table(path: Path, name: str, where: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (line number, cells) of every non-blank row."""
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file, strict=True)  # a stray quote is an error, not a merged field
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank lines, often one at the end, are not rows
                if header is None:
                    header = [cell.strip() for cell in row]
                    _check_header(header, name, reader.line_num, where)
                elif len(row) != len(header):
                    raise NNStudioError(
                        f"{name} line {reader.line_num}: {len(row)} fields, but the header has {len(header)}", where
                    )
                else:
                    rows.append((reader.line_num, row))
    except UnicodeDecodeError as error:
        raise NNStudioError(f"{name}: not UTF-8 text (byte 0x{error.object[error.start]:02x})", where) from None
    except csv.Error as error:
        raise NNStudioError(f"{name} line {reader.line_num}: {error}", where) from None
    except OSError as error:
        raise NNStudioError(f"{name}: cannot be read: {error.strerror or error}", where) from None
    if header is None:
        raise NNStudioError(f"{name} is empty (a header row naming the columns is needed)", where)
    if not rows:
        raise NNStudioError(f"{name} has a header but no data rows", where)
    return header, rows


def _check_header(header: list[str], name: str, line: int, where: str) -> None:
    if any(not column for column in header):
        raise NNStudioError(f"{name} line {line}: the header has an empty column name", where)
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        raise NNStudioError(f"{name} line {line}: the header names column {repeated[0]!r} twice", where)


def _number(cell: str, name: str, line: int, column: str, where: str) -> float:
    text = cell.strip()
    if not text:
        raise NNStudioError(f"{name} line {line}, column {column!r}: empty (a number is needed)", where)
    try:
        value = float(text)
    except ValueError:
        raise NNStudioError(f"{name} line {line}, column {column!r}: not a number: {text!r}", where) from None
    if not math.isfinite(value):
        raise NNStudioError(f"{name} line {line}, column {column!r}: not a finite number: {text!r}", where)
    if abs(value) > FLOAT32_MAX:  # would silently become inf in the float32 tensor
        raise NNStudioError(f"{name} line {line}, column {column!r}: too large for float32: {text!r}", where)
    return value


def _class_labels(
    cells: list[tuple[int, str]], name: str, target: str, where: str
) -> tuple[np.ndarray, int, tuple[str, ...] | None]:
    """Integer class ids as written, or names mapped to ids in sorted order."""
    texts = [cell.strip() for _, cell in cells]
    for (line, _), text in zip(cells, texts):
        if not text:
            raise NNStudioError(f"{name} line {line}, column {target!r}: empty (a class is needed)", where)
    try:
        ids = [int(text) for text in texts]
    except ValueError:
        names = sorted(set(texts))
        if len(names) > MAX_CLASSES:
            raise NNStudioError(
                f"{name}: column {target!r} has {len(names)} classes (at most {MAX_CLASSES})", where
            ) from None
        index = {label: i for i, label in enumerate(names)}
        return np.array([index[text] for text in texts], dtype=np.int64), len(names), tuple(names)
    for (line, _), value in zip(cells, ids):
        if not 0 <= value < MAX_CLASSES:
            raise NNStudioError(
                f"{name} line {line}, column {target!r}: class ids must be from 0 to {MAX_CLASSES - 1}, got {value}",
                where,
            )
    return np.array(ids, dtype=np.int64), max(ids) + 1, None


def _names(columns: list[str]) -> str:
    return ", ".join(repr(column) for column in columns)


def load_npz(args: dict, base_dir: Path | None, where: str) -> Samples:
    name = args["path"]
    path = resolve_path(name, base_dir, f"{where}.path")
    where_file = f"{where}.path"
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise NNStudioError(f"{name}: cannot be read as an .npz archive: {error}", where_file) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise NNStudioError(f"{name} holds a single array (.npy); an .npz with named arrays is needed", where_file)
    with archive:
        x = _array(archive, args["x"], name, f"{where}.x")
        y = _array(archive, args["y"], name, f"{where}.y")
    if x.ndim == 0 or len(x) == 0:
        raise NNStudioError(f"{name}: array {args['x']!r} holds no samples (shape {x.shape})", f"{where}.x")
    if y.ndim == 0 or len(y) != len(x):
        raise NNStudioError(
            f"{name}: {args['x']!r} has {len(x)} samples but {args['y']!r} has shape {y.shape}", f"{where}.y"
        )
    x_tensor = _features(x.reshape(len(x), -1) if x.ndim == 1 else x, args, name, f"{where}.x")
    description = f"npz {name}: {len(x)} samples of shape {tuple(x_tensor.shape[1:])}"
    if args["task"] == "regression":
        with np.errstate(over="ignore"):
            values = _finite(y, name, args["y"], f"{where}.y").astype(np.float32)
        if not np.isfinite(values).all():
            raise NNStudioError(f"{name}: array {args['y']!r} holds values too large for float32", f"{where}.y")
        # One target per sample becomes shape (1,), to match a Linear(..., 1) output under MSELoss.
        y_tensor = torch.from_numpy(np.ascontiguousarray(values.reshape(len(y), -1) if y.ndim == 1 else values))
        return Samples(x_tensor, y_tensor, "regression", None, f"{description}, regression")
    labels, classes, names = _npz_labels(y, name, args["y"], f"{where}.y")
    return Samples(
        x_tensor, torch.from_numpy(labels), "classification", classes, f"{description}, {classes} classes", names
    )


def _array(archive: np.lib.npyio.NpzFile, key: str, name: str, where: str) -> np.ndarray:
    if key not in archive.files:
        present = ", ".join(repr(k) for k in archive.files) or "none"
        raise NNStudioError(f"{name} has no array {key!r} (its arrays: {present})", where)
    try:
        array = archive[key]
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise NNStudioError(
                f"{name}: array {key!r} holds Python objects, which are never unpickled; save numbers instead", where
            ) from None
        raise NNStudioError(f"{name}: array {key!r} cannot be read: {error}", where) from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise NNStudioError(f"{name}: array {key!r} cannot be read: {error}", where) from None
    return array


def _finite(array: np.ndarray, name: str, key: str, where: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise NNStudioError(f"{name}: array {key!r} has dtype {array.dtype}; numbers are needed", where)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise NNStudioError(f"{name}: array {key!r} holds NaN or infinite values", where)
    return array


def _features(x: np.ndarray, args: dict, name: str, where: str) -> torch.Tensor:
    x = _finite(x, name, args["x"], where)
    if args["x_dtype"] == "float32":
        with np.errstate(over="ignore"):  # reported below, as an error naming the array
            converted = x.astype(np.float32)
        if not np.isfinite(converted).all():
            raise NNStudioError(f"{name}: array {args['x']!r} holds values too large for float32", where)
        return torch.from_numpy(np.ascontiguousarray(converted))
    # int64 is for token ids, which index an embedding: whole numbers >= 0.
    if x.dtype.kind not in "biu":
        raise NNStudioError(f"{name}: x_dtype int64 needs an integer array, {args['x']!r} has dtype {x.dtype}", where)
    if x.size and (x.min() < 0 or x.max() > np.iinfo(np.int64).max):
        raise NNStudioError(f"{name}: array {args['x']!r} must hold token ids >= 0 (it has {x.min()})", where)
    return torch.from_numpy(np.ascontiguousarray(x.astype(np.int64)))


def _npz_labels(y: np.ndarray, name: str, key: str, where: str) -> tuple[np.ndarray, int, tuple[str, ...] | None]:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise NNStudioError(f"{name}: class labels {key!r} must be one per sample, got shape {y.shape}", where)
    if y.dtype.kind in "US":
        names, labels = np.unique(y, return_inverse=True)
        if len(names) > MAX_CLASSES:
            raise NNStudioError(
                f"{name}: class labels {key!r} name {len(names)} classes (at most {MAX_CLASSES})", where
            )
        return labels.astype(np.int64), len(names), tuple(str(n) for n in names)
    y = _finite(y, name, key, where)
    if y.dtype.kind == "f" and not (y == np.round(y)).all():
        raise NNStudioError(f"{name}: class labels {key!r} must be whole numbers (or use task 'regression')", where)
    if y.min() < 0 or y.max() >= MAX_CLASSES:
        raise NNStudioError(
            f"{name}: class labels {key!r} must be from 0 to {MAX_CLASSES - 1}, got {y.min()} to {y.max()}", where
        )
    labels = y.astype(np.int64)
    return labels, int(labels.max()) + 1, None

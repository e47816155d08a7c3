"""Readers of the user's CSV and .npz files, written out for exported scripts.

They read a file the way :mod:`app.data.user_files` does (the same columns, the same class ids, the
same dtypes) without its checks and messages: the app has checked the file already. The CSV
reader needs only torch and the ``csv`` module; the .npz reader imports numpy itself, since
only numpy reads that format, so no other script depends on numpy.
"""

from __future__ import annotations

CSV = '''
def read_csv(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The CSV's feature columns as float32 and its target column (class ids, or float32 values)."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)]
    header, rows = [cell.strip() for cell in rows[0]], rows[1:]
    features = FEATURES if FEATURES is not None else [column for column in header if column != TARGET]
    columns = [header.index(column) for column in features]
    x = torch.tensor([[float(row[i]) for i in columns] for row in rows], dtype=torch.float32)
    cells = [row[header.index(TARGET)].strip() for row in rows]
    if TASK == "regression":
        return x, torch.tensor([[float(cell)] for cell in cells], dtype=torch.float32)
    try:
        return x, torch.tensor([int(cell) for cell in cells], dtype=torch.int64)  # class ids as written
    except ValueError:
        ids = {name: index for index, name in enumerate(sorted(set(cells)))}  # class names: ids in sorted order
        return x, torch.tensor([ids[cell] for cell in cells], dtype=torch.int64)
'''

NPZ = '''
def read_npz(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Arrays X_KEY and Y_KEY of the archive (never unpickled), as nnstudio reads them."""
    import numpy as np  # .npz is numpy's format: only this reader needs numpy, so only it imports it

    with np.load(path, allow_pickle=False) as archive:
        x, y = archive[X_KEY], archive[Y_KEY]
    if x.ndim == 1:
        x = x.reshape(len(x), -1)
    x = torch.from_numpy(np.ascontiguousarray(x.astype(X_DTYPE)))
    if TASK == "regression":
        y = y.astype(np.float32)
        y = y.reshape(len(y), -1) if y.ndim == 1 else y  # one target per sample: shape (1,)
        return x, torch.from_numpy(np.ascontiguousarray(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dtype.kind in "US":  # class names: ids in sorted order
        y = np.unique(y, return_inverse=True)[1]
    return x, torch.from_numpy(y.astype(np.int64))
'''


def reader_settings(args: dict, path: str) -> list[str]:
    """The constants a reader uses, as script lines."""
    lines = [f"DATA_FILE = {path!r}  # --data FILE reads another file laid out the same way"]
    if args["name"] == "csv":
        lines += [
            f"TARGET = {args['target']!r}",
            f"FEATURES = {args['features']!r}  # None: every column but the target",
        ]
    else:
        lines += [f"X_KEY, Y_KEY = {args['x']!r}, {args['y']!r}", f"X_DTYPE = {args['x_dtype']!r}"]
    return lines + [f"TASK = {args['task']!r}"]


def reader_source(name: str) -> str:
    return (CSV if name == "csv" else NPZ).strip("\n")

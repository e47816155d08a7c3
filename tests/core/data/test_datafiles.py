"""The user's own data: CSV tables and .npz archives, and every way such a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.data.loading import load_data
from app.errors import NNStudioError

UNPICKLED: list[str] = []


def _record_unpickling() -> str:
    UNPICKLED.append("ran")
    return "payload"


class Booby:
    """Unpickling this runs code; loading a data file must never get that far."""

    def __reduce__(self):
        return (_record_unpickling, ())


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_data(folder: Path, text: str, **args) -> object:
    write(folder, "data.csv", text)
    return load_data({"name": "csv", "path": "data.csv", **args}, val_split=0, base_dir=folder)


def csv_error(folder: Path, text: str, **args) -> NNStudioError:
    with pytest.raises(NNStudioError) as caught:
        csv_data(folder, text, **args)
    return caught.value


IRIS = "x1,x2,label\n1.0,2.0,setosa\n3,4,virginica\n5,6e-1,setosa\n\n-7,8,versicolor\n"


def test_csv_with_string_classes_maps_them_in_sorted_order(tmp_path):
    data = csv_data(tmp_path, IRIS, target="label")
    assert data.class_names == ("setosa", "versicolor", "virginica")
    assert data.num_classes == 3 and data.task == "classification"
    assert data.sample_shape == (2,) and data.x_dtype == "float32"
    assert data.x_train.tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, pytest.approx(0.6)], [-7.0, 8.0]]
    assert data.y_train.tolist() == [0, 2, 0, 1]
    assert "data.csv: 4 rows, 2 features, 3 classes" in data.description


def test_csv_with_integer_classes_keeps_the_ids(tmp_path):
    data = csv_data(tmp_path, "a,b,y\n1,2,0\n3,4,2\n", target="y")
    assert data.y_train.tolist() == [0, 2] and data.num_classes == 3 and data.class_names is None


def test_csv_regression_picks_features_in_the_order_given(tmp_path):
    data = csv_data(
        tmp_path, "a,b,c,price\n1,2,3,9.5\n4,5,6,-1\n", target="price", features=["c", "a"], task="regression"
    )
    assert data.x_train.tolist() == [[3.0, 1.0], [6.0, 4.0]]
    assert data.y_train.shape == (2, 1) and data.y_train[:, 0].tolist() == [9.5, -1.0]
    assert data.task == "regression" and data.num_classes is None


def test_csv_reads_a_byte_order_mark_quotes_and_an_absolute_path(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes('\ufeff"x","y"\r\n" 1.5 ","a"\r\n2,"b"\r\n'.encode("utf-8"))
    data = load_data({"name": "csv", "path": str(path), "target": "y"}, val_split=0, base_dir=Path("/nowhere"))
    assert data.x_train[:, 0].tolist() == [1.5, 2.0]


def test_csv_is_split_with_the_dataset_seed(tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(50))
    write(tmp_path, "data.csv", "x,y\n" + rows)
    spec = {"name": "csv", "path": "data.csv", "target": "y", "seed": 1}
    first = load_data(spec, val_split=0.2, base_dir=tmp_path)
    again = load_data(spec, val_split=0.2, base_dir=tmp_path)
    other = load_data({**spec, "seed": 2}, val_split=0.2, base_dir=tmp_path)
    assert len(first.x_val) == 10 and torch.equal(first.x_val, again.x_val)
    assert not torch.equal(first.x_val, other.x_val)


@pytest.mark.parametrize(
    "text, args, where, message",
    [
        ("", {}, "path", "data.csv is empty (a header row naming the columns is needed)"),
        ("\n\n", {}, "path", "data.csv is empty"),
        ("x1,x2,label\n", {}, "path", "data.csv has a header but no data rows"),
        ("x1,x2,label\n1,2,a\n3,4\n", {}, "path", "data.csv line 3: 2 fields, but the header has 3"),
        (
            "x1,x2,label\n" + "1,2,a\n" * 15 + "1,abc,b\n",
            {},
            "path",
            "data.csv line 17, column 'x2': not a number: 'abc'",
        ),
        ("x1,x2,label\n1, ,a\n", {}, "path", "data.csv line 2, column 'x2': empty (a number is needed)"),
        ("x1,x2,label\n1,nan,a\n", {}, "path", "data.csv line 2, column 'x2': not a finite number: 'nan'"),
        ("x1,x2,label\n1,-1e39,a\n", {}, "path", "data.csv line 2, column 'x2': too large for float32: '-1e39'"),
        ("x1,x2,label\n1,2,\n", {}, "path", "data.csv line 2, column 'label': empty (a class is needed)"),
        ("x1,x2,label\n1,2,0\n1,2,-1\n", {}, "path", "data.csv line 3, column 'label': class ids must be from 0"),
        (
            "x1,x2,label\n1,2,0.5\n",
            {"task": "regression", "target": "x9"},
            "target",
            "data.csv has no column 'x9' (its columns: 'x1', 'x2', 'label')",
        ),
        (
            "x1,x2,label\n1,2,a\n",
            {"features": ["x1", "x3", "x4"]},
            "features",
            "data.csv has no column(s) 'x3', 'x4' (its columns: 'x1', 'x2', 'label')",
        ),
        (
            "x1,x2,label\n1,2,a\n",
            {"features": ["x1", "label"]},
            "features",
            "the target 'label' cannot also be a feature",
        ),
        ("label\na\n", {}, "features", "data.csv has no columns besides the target 'label'"),
        ("x1,x1,label\n1,2,a\n", {}, "path", "data.csv line 1: the header names column 'x1' twice"),
        ("x1,,label\n1,2,a\n", {}, "path", "data.csv line 1: the header has an empty column name"),
        ('x1,x2,label\n1,2,"a\n', {}, "path", "data.csv line 2: unexpected end of data"),
        ('x1,x2,label\n1,2,"a"b\n', {}, "path", "data.csv line 2: ',' expected after '\"'"),
    ],
)
def test_bad_csv_names_the_file_line_and_column(tmp_path, text, args, where, message):
    error = csv_error(tmp_path, text, **{"target": "label", **args})
    assert error.where == f"training.dataset.{where}"
    assert error.message.startswith(message)
    assert str(error) == f"training.dataset.{where}: {error.message}"


def test_csv_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / "data.csv").write_bytes(b"x,y\n1,\xff\n")
    with pytest.raises(NNStudioError, match="data.csv: not UTF-8 text"):
        load_data({"name": "csv", "path": "data.csv", "target": "y"}, base_dir=tmp_path)


@pytest.mark.parametrize("name", ["csv", "npz"])
def test_missing_file_names_the_path_and_where_it_looked(tmp_path, name):
    with pytest.raises(NNStudioError) as caught:
        load_data(
            {"name": name, "path": "gone.dat", "target": "y"} if name == "csv" else {"name": name, "path": "gone.dat"},
            base_dir=tmp_path,
        )
    assert caught.value.where == "training.dataset.path"
    assert caught.value.message.startswith("gone.dat: no such file")
    assert str(tmp_path / "gone.dat") in caught.value.message


def test_a_folder_is_not_a_data_file(tmp_path):
    (tmp_path / "data.csv").mkdir()
    with pytest.raises(NNStudioError, match="data.csv: is not a file"):
        load_data({"name": "csv", "path": "data.csv", "target": "y"}, base_dir=tmp_path)


# -- npz ------------------------------------------------------------------------------------------


def npz_data(folder: Path, arrays: dict, **args) -> object:
    np.savez(folder / "d.npz", **arrays)
    return load_data({"name": "npz", "path": "d.npz", **args}, val_split=0, base_dir=folder)


def npz_error(folder: Path, arrays: dict, **args) -> NNStudioError:
    with pytest.raises(NNStudioError) as caught:
        npz_data(folder, arrays, **args)
    return caught.value


def test_npz_images_and_integer_labels(tmp_path):
    x = np.random.default_rng(0).random((6, 1, 4, 4))
    data = npz_data(tmp_path, {"x": x, "y": np.array([0, 1, 2, 0, 1, 2], dtype=np.uint8)})
    assert data.sample_shape == (1, 4, 4) and data.x_train.dtype == torch.float32
    assert np.allclose(data.x_train.numpy(), x.astype(np.float32))
    assert data.y_train.tolist() == [0, 1, 2, 0, 1, 2] and data.num_classes == 3


def test_npz_with_other_keys_string_labels_and_tokens(tmp_path):
    tokens = np.array([[3, 1, 2], [4, 4, 0]], dtype=np.int32)
    data = npz_data(
        tmp_path, {"seqs": tokens, "names": np.array(["spam", "ham"])}, x="seqs", y="names", x_dtype="int64"
    )
    assert data.x_dtype == "int64" and data.x_train.tolist() == tokens.tolist()
    assert data.class_names == ("ham", "spam") and data.y_train.tolist() == [1, 0]


def test_npz_regression_makes_a_column_of_targets(tmp_path):
    data = npz_data(tmp_path, {"x": np.arange(5.0), "y": np.arange(5.0) * 2}, task="regression")
    assert data.x_train.shape == (5, 1) and data.y_train.shape == (5, 1)
    assert data.y_train[:, 0].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


@pytest.mark.parametrize(
    "arrays, args, where, message",
    [
        ({"a": np.zeros((3, 2)), "b": np.zeros(3)}, {}, "x", "d.npz has no array 'x' (its arrays: 'a', 'b')"),
        ({"x": np.zeros((3, 2)), "b": np.zeros(3)}, {}, "y", "d.npz has no array 'y' (its arrays: 'x', 'b')"),
        ({"x": np.zeros((3, 2)), "y": np.zeros(4)}, {}, "y", "d.npz: 'x' has 3 samples but 'y' has shape (4,)"),
        ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, {}, "x", "d.npz: array 'x' holds no samples"),
        ({"x": np.array(["a", "b"]), "y": np.zeros(2)}, {}, "x", "d.npz: array 'x' has dtype <U1; numbers are needed"),
        ({"x": np.array([1j, 2j]), "y": np.zeros(2)}, {}, "x", "d.npz: array 'x' has dtype complex128"),
        ({"x": np.array([1.0, np.nan]), "y": np.zeros(2)}, {}, "x", "d.npz: array 'x' holds NaN or infinite values"),
        ({"x": np.array([1e300]), "y": np.zeros(1)}, {}, "x", "d.npz: array 'x' holds values too large for float32"),
        ({"x": np.zeros((2, 2)), "y": np.array([0.5, 1.0])}, {}, "y", "d.npz: class labels 'y' must be whole numbers"),
        ({"x": np.zeros((2, 2)), "y": np.array([0, -1])}, {}, "y", "d.npz: class labels 'y' must be from 0"),
        ({"x": np.zeros((2, 2)), "y": np.zeros((2, 3))}, {}, "y", "d.npz: class labels 'y' must be one per sample"),
        ({"x": np.zeros((2, 2)), "y": np.zeros(2)}, {"x_dtype": "int64"}, "x", "d.npz: x_dtype int64 needs an integer"),
        ({"x": np.array([[1, -2]]), "y": np.zeros(1)}, {"x_dtype": "int64"}, "x", "d.npz: array 'x' must hold token"),
    ],
)
def test_bad_npz_names_the_array(tmp_path, arrays, args, where, message):
    error = npz_error(tmp_path, arrays, **args)
    assert error.where == f"training.dataset.{where}"
    assert error.message.startswith(message)


def test_npz_object_arrays_are_refused_without_unpickling(tmp_path):
    UNPICKLED.clear()
    booby = np.empty(2, dtype=object)
    booby[:] = [Booby(), Booby()]
    error = npz_error(tmp_path, {"x": np.zeros((2, 2)), "y": booby})
    assert error.where == "training.dataset.y" and "never unpickled" in error.message
    assert UNPICKLED == []


@pytest.mark.parametrize("content", [b"not a zip at all", b""])
def test_a_file_that_is_not_npz_is_refused(tmp_path, content):
    (tmp_path / "d.npz").write_bytes(content)
    with pytest.raises(NNStudioError, match="d.npz: cannot be read as an .npz archive") as caught:
        load_data({"name": "npz", "path": "d.npz"}, base_dir=tmp_path)
    assert caught.value.where == "training.dataset.path"


def test_a_single_npy_array_is_refused(tmp_path):
    np.save(tmp_path / "d.npy", np.zeros(3))
    (tmp_path / "d.npy").rename(tmp_path / "d.npz")
    with pytest.raises(NNStudioError, match="holds a single array"):
        load_data({"name": "npz", "path": "d.npz"}, base_dir=tmp_path)

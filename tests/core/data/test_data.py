"""Built-in datasets, the dataset JSON check, the validation split, batching, and learnability."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from app.data.datasets import MARKER_TOKEN, SHAPE_NAMES, dataset_arguments, dataset_names, generate, parse_dataset
from app.data.loading import Batches, load_data
from app.errors import NNStudioError

# name -> (sample shape, x dtype, task, classes, y shape per sample)
EXPECTED = {
    "spirals": ((2,), torch.float32, "classification", 3, ()),
    "blobs": ((2,), torch.float32, "classification", 3, ()),
    "moons": ((2,), torch.float32, "classification", 2, ()),
    "xor": ((2,), torch.float32, "classification", 2, ()),
    "sine": ((1,), torch.float32, "regression", None, (1,)),
    "shapes28": ((1, 28, 28), torch.float32, "classification", 10, ()),
    "shapes32": ((3, 32, 32), torch.float32, "classification", 10, ()),
    "tokens": ((20,), torch.int64, "classification", 2, ()),
}


@pytest.fixture
def one_thread():
    # Two cores shared with other work: torch's thread pool then thrashes and tiny models crawl.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make(name: str, **args) -> object:
    return generate(parse_dataset({"name": name, **args}))


def test_names_cover_generators_and_user_files():
    assert set(dataset_names()) == set(EXPECTED) | {"csv", "npz"}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_generator_shapes_dtypes_and_classes(name):
    shape, dtype, task, classes, y_shape = EXPECTED[name]
    data = load_data({"name": name, "size": 250}, val_split=0.2)
    assert data.sample_shape == shape
    assert data.x_train.shape == (200, *shape) and data.x_val.shape == (50, *shape)
    assert data.x_train.dtype == dtype
    assert data.x_dtype == ("int64" if dtype == torch.int64 else "float32")
    assert data.task == task and data.num_classes == classes
    assert data.y_train.shape == (200, *y_shape)
    if task == "classification":
        assert data.y_train.dtype == torch.int64
        labels = torch.cat([data.y_train, data.y_val])
        assert set(labels.tolist()) == set(range(classes))
    else:
        assert data.y_train.dtype == torch.float32
    assert data.description.startswith(name) and "\n" not in data.description
    assert torch.isfinite(data.x_train.float()).all()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_generators_are_deterministic_and_seeded(name):
    first, again, other = make(name, size=300, seed=5), make(name, size=300, seed=5), make(name, size=300, seed=6)
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y)
    assert not torch.equal(first.x, other.x)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_samples_do_not_depend_on_the_number_of_threads(name):
    size = 2000 if name.startswith("shapes") else 50_000  # big enough for torch to split the work
    threaded = make(name, size=size, seed=3)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = make(name, size=size, seed=3)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(threaded.x, single.x) and torch.equal(threaded.y, single.y)


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if e[2] == "classification"])
def test_classes_are_balanced(name):
    counts = torch.bincount(make(name, size=1001).y)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("classes", [2, 6])
def test_spirals_and_blobs_take_the_number_of_classes(classes):
    for name in ("spirals", "blobs"):
        samples = make(name, classes=classes, size=120)
        assert samples.num_classes == classes and samples.y.max() == classes - 1


def test_noise_moves_points():
    calm, noisy = make("moons", noise=0.0), make("moons", noise=0.5)
    assert torch.equal(calm.y, noisy.y)
    assert (calm.x - noisy.x).abs().mean() > 0.1


def test_sine_follows_the_sine_curve():
    exact = make("sine", noise=0.0, size=500)
    assert exact.x.abs().max() <= math.pi
    assert torch.allclose(exact.y, torch.sin(exact.x), atol=1e-6)
    noisy = make("sine", noise=0.3, size=5000)
    assert (noisy.y - torch.sin(noisy.x)).std() == pytest.approx(0.3, rel=0.1)


@pytest.mark.parametrize("name", ["shapes28", "shapes32"])
def test_shape_images_are_a_bright_shape_on_a_plain_background(name):
    samples = make(name, size=200, noise=0.0)
    for image in samples.x[:50]:
        for channel in image:
            values = torch.unique(channel)
            assert len(values) == 2, "one background and one shape colour"
            shape_pixels = (channel == values[1]).float().mean()
            assert 0.02 < shape_pixels < 0.6
    assert samples.class_names == tuple(SHAPE_NAMES)


def test_shape_classes_differ_on_average():
    samples = make("shapes28", size=2000, noise=0.0, classes=4)
    means = torch.stack([samples.x[samples.y == c].mean(0) for c in range(4)])
    for a in range(4):
        for b in range(a + 1, 4):
            assert (means[a] - means[b]).abs().max() > 0.1


def test_tokens_label_says_whether_the_marker_appears():
    samples = make("tokens", size=2000, vocab=30, length=8)
    has_marker = (samples.x == MARKER_TOKEN).any(dim=1).long()
    assert torch.equal(samples.y, has_marker)
    assert samples.x.min() >= 1 and samples.x.max() < 30  # 0 stays free for padding
    flipped = make("tokens", size=2000, vocab=30, length=8, noise=0.2)
    wrong = (flipped.y != (flipped.x == MARKER_TOKEN).any(dim=1).long()).float().mean()
    assert wrong == pytest.approx(0.2, abs=0.04)


def test_parse_fills_defaults_in_a_canonical_order():
    assert parse_dataset({"seed": 3, "name": "spirals"}) == {
        "name": "spirals",
        "size": 1000,
        "classes": 3,
        "noise": 0.2,
        "seed": 3,
    }
    assert parse_dataset({"name": "csv", "path": "d.csv", "target": "y"})["features"] is None
    assert dataset_arguments("tokens") == {"size": 1000, "length": 20, "vocab": 1000, "noise": 0.0, "seed": 0}
    assert parse_dataset({"name": "blobs", "spread": 2})["spread"] == 2.0


@pytest.mark.parametrize(
    "data, where, words",
    [
        ("spirals", "training.dataset", "must be an object"),
        ({"size": 10}, "training.dataset", "'name'"),
        ({"name": "mnist"}, "training.dataset.name", "unknown dataset 'mnist'"),
        ({"name": "moons", "classes": 3}, "training.dataset.classes", "moons takes no argument 'classes'"),
        ({"name": "moons", "size": 0}, "training.dataset.size", "from 1 to 1000000"),
        ({"name": "moons", "size": 1_000_001}, "training.dataset.size", "from 1 to 1000000"),
        ({"name": "moons", "size": True}, "training.dataset.size", "integer"),
        ({"name": "moons", "size": 10.0}, "training.dataset.size", "integer"),
        ({"name": "moons", "noise": -0.1}, "training.dataset.noise", "from 0.0"),
        ({"name": "moons", "noise": "lots"}, "training.dataset.noise", "number"),
        ({"name": "spirals", "classes": 7}, "training.dataset.classes", "from 2 to 6"),
        ({"name": "blobs", "classes": 1}, "training.dataset.classes", "from 2 to 10"),
        ({"name": "moons", "seed": -1}, "training.dataset.seed", "integer from 0"),
        ({"name": "tokens", "vocab": 2}, "training.dataset.vocab", "from 3"),
        ({"name": "tokens", "noise": 0.6}, "training.dataset.noise", "to 0.5"),
        ({"name": "shapes32", "size": 1_000_000}, "training.dataset.size", "at most 65104 samples"),
        ({"name": "csv", "target": "y"}, "training.dataset.path", "csv needs 'path'"),
        ({"name": "csv", "path": " ", "target": "y"}, "training.dataset.path", "non-empty string"),
        ({"name": "csv", "path": "a", "target": "y", "features": "x"}, "training.dataset.features", "list"),
        ({"name": "csv", "path": "a", "target": "y", "features": []}, "training.dataset.features", "list"),
        ({"name": "csv", "path": "a", "target": "y", "features": ["x", "x"]}, "training.dataset.features", "'x'"),
        ({"name": "csv", "path": "a", "target": "y", "task": "ranking"}, "training.dataset.task", "one of"),
        ({"name": "npz", "path": "a", "x_dtype": "float64"}, "training.dataset.x_dtype", "one of"),
    ],
)
def test_parse_refuses_bad_datasets_naming_the_field(data, where, words):
    with pytest.raises(NNStudioError) as caught:
        parse_dataset(data)
    assert caught.value.where == where
    assert words in caught.value.message


def test_unknown_dataset_arguments_lists_the_known():
    with pytest.raises(NNStudioError, match="spirals"):
        dataset_arguments("mnist")


def test_split_is_seeded_disjoint_and_complete():
    data = load_data({"name": "blobs", "size": 100, "seed": 4}, val_split=0.25)
    again = load_data({"name": "blobs", "size": 100, "seed": 4}, val_split=0.25)
    assert len(data.x_train) == 75 and len(data.x_val) == 25
    assert torch.equal(data.x_val, again.x_val)
    every = make("blobs", size=100, seed=4).x
    joined = torch.cat([data.x_train, data.x_val])
    assert sorted(map(tuple, joined.tolist())) == sorted(map(tuple, every.tolist()))
    assert "75 train / 25 validation" in data.description


def test_zero_val_split_gives_an_empty_validation_set():
    data = load_data({"name": "shapes28", "size": 10}, val_split=0)
    assert data.x_val.shape == (0, 1, 28, 28) and data.y_val.shape == (0,)
    assert len(data.x_train) == 10


def test_tiny_dataset_keeps_one_training_sample():
    data = load_data({"name": "xor", "size": 1}, val_split=0.9)
    assert len(data.x_train) == 1 and len(data.x_val) == 0


@pytest.mark.parametrize("val_split", [-0.1, 0.95, float("nan"), "0.2", True])
def test_bad_val_split_is_refused(val_split):
    with pytest.raises(NNStudioError) as caught:
        load_data({"name": "xor"}, val_split=val_split)
    assert caught.value.where == "training.val_split"


# -- Batches -------------------------------------------------------------------------------------


def numbered(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(count).float().unsqueeze(1)
    return x, torch.arange(count)


def batch_ids(batches) -> list[list[int]]:
    return [y.tolist() for _, y in batches]


def test_an_epoch_covers_every_sample_once_with_x_and_y_aligned():
    x, y = numbered(103)
    batches = Batches(x, y, batch_size=10, shuffle=True, seed=1)
    assert len(batches) == 11
    seen = []
    for xb, yb in batches.epoch(0):
        assert torch.equal(xb[:, 0].long(), yb)
        seen += yb.tolist()
    assert sorted(seen) == list(range(103))
    assert [len(b) for b in batch_ids(batches.epoch(0))] == [10] * 10 + [3]


def test_order_changes_each_epoch_but_is_reproducible():
    x, y = numbered(50)
    batches = Batches(x, y, 8, shuffle=True, seed=7)
    assert batch_ids(batches.epoch(0)) != batch_ids(batches.epoch(1))
    fresh = Batches(x, y, 8, shuffle=True, seed=7)
    assert batch_ids(fresh.epoch(1)) == batch_ids(batches.epoch(1))
    assert batch_ids(Batches(x, y, 8, shuffle=True, seed=8).epoch(1)) != batch_ids(batches.epoch(1))


def test_permutation_is_randperm_seeded_by_seed_and_epoch():
    x, y = numbered(40)
    expected = torch.randperm(40, generator=torch.Generator().manual_seed(3 * 1000003 + 2))
    got = torch.cat([yb for _, yb in Batches(x, y, 16, shuffle=True, seed=3).epoch(2)])
    assert torch.equal(got, expected)


def test_without_shuffle_the_order_is_the_file_order():
    x, y = numbered(25)
    assert batch_ids(Batches(x, y, 10, shuffle=False, seed=0).epoch(4)) == [
        list(range(10)),
        list(range(10, 20)),
        list(range(20, 25)),
    ]


def test_skip_resumes_the_rest_of_the_same_epoch():
    x, y = numbered(97)
    batches = Batches(x, y, 10, shuffle=True, seed=2)
    whole = batch_ids(batches.epoch(3))
    assert batch_ids(batches.epoch(3, skip=4)) == whole[4:]
    assert batch_ids(batches.epoch(3, skip=len(batches))) == []
    with pytest.raises(NNStudioError) as caught:
        batches.epoch(3, skip=len(batches) + 1)
    assert caught.value.where == "skip"


def test_drop_last_keeps_only_full_batches():
    x, y = numbered(103)
    batches = Batches(x, y, 10, shuffle=True, seed=0, drop_last=True)
    assert len(batches) == 10
    assert all(len(b) == 10 for b in batch_ids(batches.epoch(0)))


@pytest.mark.parametrize("count", [80, 101, 3])
def test_two_ranks_take_disjoint_slices_of_each_global_batch(count):
    x, y = numbered(count)
    ranks = [Batches(x, y, 10, shuffle=True, seed=5, rank=r, world_size=2) for r in range(2)]
    single = Batches(x, y, 20, shuffle=True, seed=5)
    assert len(ranks[0]) == len(ranks[1]) == len(single)
    first, second = batch_ids(ranks[0].epoch(1)), batch_ids(ranks[1].epoch(1))
    for step, global_batch in enumerate(batch_ids(single.epoch(1))):
        assert len(first[step]) == len(second[step])
        if count % 2 == 0:
            assert not set(first[step]) & set(second[step])
            assert sorted(first[step] + second[step]) == sorted(global_batch)
    assert set(sum(first + second, [])) == set(range(count))
    assert ranks[0].samples == len(sum(first + second, []))  # what a run's Started reports


def test_two_ranks_with_drop_last_never_share_a_sample():
    x, y = numbered(101)
    ranks = [Batches(x, y, 10, shuffle=True, seed=5, rank=r, world_size=2, drop_last=True) for r in range(2)]
    first, second = sum(batch_ids(ranks[0].epoch(0)), []), sum(batch_ids(ranks[1].epoch(0)), [])
    assert len(first) == len(second) == 50 and not set(first) & set(second)
    assert ranks[1].samples == 100


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"rank": 2, "world_size": 2}, "rank"),
        ({"world_size": 0}, "world_size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_batch_settings_are_refused(kwargs, where):
    x, y = numbered(10)
    settings = {"batch_size": 4, "shuffle": True, "seed": 0, **kwargs}
    with pytest.raises(NNStudioError) as caught:
        Batches(x, y, **settings)
    assert caught.value.where == where


def test_batches_refuse_x_and_y_of_different_lengths():
    with pytest.raises(NNStudioError, match="10 samples but y has 9"):
        Batches(torch.zeros(10, 2), torch.zeros(9), 4, True, 0)


# -- learnability ---------------------------------------------------------------------------------


def test_a_tiny_mlp_learns_spirals(one_thread):
    torch.manual_seed(0)
    data = load_data({"name": "spirals", "size": 600}, val_split=0.2)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batches = Batches(data.x_train, data.y_train, 64, shuffle=True, seed=0)
    for epoch in range(40):  # 8 steps an epoch: 320 steps
        for x, y in batches.epoch(epoch):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = (model(data.x_train).argmax(1) == data.y_train).float().mean()
    assert accuracy > 0.9


class MarkerGRU(nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, 16)
        self.gru = nn.GRU(16, 32, batch_first=True)
        self.head = nn.Linear(32, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _, hidden = self.gru(self.embedding(tokens))
        return self.head(hidden[-1])


def test_a_tiny_gru_learns_tokens_above_chance(one_thread):
    torch.manual_seed(0)
    data = load_data({"name": "tokens", "size": 800, "length": 12, "vocab": 100}, val_split=0.25)
    model = MarkerGRU(100)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batches = Batches(data.x_train, data.y_train, 32, shuffle=True, seed=0)
    for epoch in range(3):
        for x, y in batches.epoch(epoch):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = (model(data.x_val).argmax(1) == data.y_val).float().mean()
    assert accuracy > 0.75

import pytest
import torch
from torch import nn

from app.setup.devices import DeviceError, discover, parse_placement, place, unwrap, why_unavailable


def test_cpu_is_always_discovered_first_with_name_and_memory():
    devices = discover()
    assert devices[0].id == "cpu" and devices[0].name
    assert devices[0].memory_bytes is None or devices[0].memory_bytes > 2**20
    assert [d.id for d in devices if d.id.startswith("cuda")] == [f"cuda:{i}" for i in range(torch.cuda.device_count())]


@pytest.mark.parametrize(
    "text, kind", [("cpu", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda"), ("mps", "mps"), ("dp:0,1", "dp")]
)
def test_placements_parse(text, kind):
    placement = parse_placement(text)
    assert placement.kind == kind and str(placement) == text


@pytest.mark.parametrize("text", ["gpu", "cuda:x", "dp:", "dp:0,0", "", 3])
def test_bad_placements_are_refused(text):
    with pytest.raises(DeviceError) as caught:
        parse_placement(text, "device")
    assert caught.value.where == "device"


@pytest.mark.skipif(torch.cuda.device_count() >= 8, reason="needs a machine without cuda:7")
def test_a_missing_device_is_an_error_listing_what_is_here():
    problem = why_unavailable(parse_placement("cuda:7"))
    assert "cuda:7 is not available" in problem and "devices here: cpu" in problem
    with pytest.raises(DeviceError) as caught:
        place(nn.Linear(2, 2), parse_placement("dp:6,7"))
    assert "devices here: cpu" in str(caught.value)


def test_cpu_placement_and_unwrap():
    model = nn.Linear(2, 2)
    assert place(model, parse_placement("cpu")) is model
    assert unwrap(nn.DataParallel(model)) is model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_and_data_parallel_placement():
    model = place(nn.Linear(2, 2), parse_placement("cuda:0"))
    assert next(model.parameters()).device.type == "cuda"
    wrapped = place(nn.Linear(2, 2), parse_placement("dp:0"))
    assert isinstance(wrapped, nn.DataParallel)
    assert wrapped(torch.ones(4, 2, device="cuda:0")).shape == (4, 2)

import torch


def test_devices_lists_the_cpu_first_with_its_memory(nnstudio):
    result = nnstudio("devices")
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("cpu ") and first.endswith(" GiB")


def test_devices_as_json_names_every_cuda_device(nnstudio):
    result = nnstudio("devices", "--json")
    assert result.code == 0, result.err
    found = result.json()["devices"]
    assert found[0]["id"] == "cpu" and found[0]["memory_bytes"] > 0
    cuda = [d for d in found if d["id"].startswith("cuda:")]
    assert len(cuda) == torch.cuda.device_count()
    assert all(d["name"] and d["memory_bytes"] > 2**30 for d in cuda)

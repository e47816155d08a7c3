"""Killing a process in the middle of saving never leaves a broken project file.

A helper process imports nnstudio once and, on each request, forks a writer that saves two
different projects (a small and a large one) to the same path in a loop. The writer tells us it
is looping; we SIGKILL it after a random delay (the point of the test: the kill lands at a
random moment of a save) and check that the file on disk is one of the two whole documents.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from app.project import load_project, project_bytes

KILLS = 30

HELPER = textwrap.dedent(
    """
    import os, sys
    from app.inputs import InputSpec
    from app.project import Project, save_project
    from app.spec import container, layer

    small = Project(container("Sequential", layer("Linear", in_features=3, out_features=4)),
                    [InputSpec([1, 3])], name="small")
    large = Project(container("Sequential", *[layer("Linear", in_features=8, out_features=8)
                                              for _ in range(400)]),
                    [InputSpec([2, 8])], name="large", description="x" * 50_000)
    path = sys.argv[1]
    print("ready", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            print(f"looping {os.getpid()}", flush=True)
            while True:
                save_project(small, path)
                save_project(large, path)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_save_killed_at_any_moment_leaves_a_whole_project(tmp_path):
    from app.inputs import InputSpec
    from app.project import Project, save_project
    from app.spec import container, layer

    small = Project(container("Sequential", layer("Linear", in_features=3, out_features=4)),
                    [InputSpec([1, 3])], name="small")
    large = Project(container("Sequential", *[layer("Linear", in_features=8, out_features=8)
                                              for _ in range(400)]),
                    [InputSpec([2, 8])], name="large", description="x" * 50_000)
    whole = {project_bytes(small): "small", project_bytes(large): "large"}
    path = tmp_path / "p.nnproj"
    save_project(small, path)

    helper = subprocess.Popen(
        [sys.executable, "-c", HELPER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    seen = set()
    rng = random.Random(1234)
    try:
        assert helper.stdout.readline().strip() == "ready"
        for _ in range(KILLS):
            helper.stdin.write("go\n")
            helper.stdin.flush()
            word, pid = helper.stdout.readline().split()
            assert word == "looping"
            _wait(rng.uniform(0, 0.3))  # the random moment of the kill, not a cover for a race
            os.kill(int(pid), signal.SIGKILL)
            assert helper.stdout.readline().strip() == "reaped"  # the writer is gone for good
            data = path.read_bytes()
            assert data in whole, f"after a kill the file is {len(data)} bytes of neither document"
            seen.add(whole[data])
            loaded = load_project(path)
            assert loaded == (small if whole[data] == "small" else large)
    finally:
        helper.kill()
        helper.wait()
    assert seen == {"small", "large"}  # the kills did land while both were being written
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "p.nnproj"]
    assert all(name.startswith(".p.nnproj.") and name.endswith(".tmp") for name in leftovers)


def _wait(seconds: float) -> None:
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

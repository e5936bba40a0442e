"""Compiling shared between processes (sim/_jit.compile_together, issue #18): each module's
``compile_kernel()`` runs under its lock file, the free ones first, a callee's module before its
caller's, and a module another process holds is loaded after it lets go."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import filelock
import pytest

from outcome_gym.sim import _jit
from outcome_gym.sim._jit import compile_together, compiled

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules(names: list[str], log: list[str], calls: dict[str, list[str]] | None = None
             ) -> list[types.ModuleType]:
    """Fake modules whose compile_kernel() logs their name; ``calls[a] = [b]``: a calls b's
    compiled function (a ``compiled`` wrapper of b's in a's namespace).
    """
    mods = {}
    for name in names:
        m = types.ModuleType(name)
        m.compile_kernel = lambda name=name: log.append(name)
        mods[name] = m
    for caller, callees in (calls or {}).items():
        for callee in callees:
            def fn() -> None:  # pragma: no cover - never called
                pass
            fn.__module__ = callee
            setattr(mods[caller], f"from_{callee}", compiled(fn))
    return [mods[n] for n in names]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _lock(cache_dir: Path, name: str) -> filelock.FileLock:
    # another holder: a second FileLock on the path takes its own flock, as another process would
    return filelock.FileLock(cache_dir / f"outcome_gym-compile-{name}.lock", thread_local=False)


def test_one_process_compiles_each_module_once_in_order(cache_dir):
    log: list[str] = []
    compile_together(_modules(["a", "b", "c"], log))
    assert log == ["a", "b", "c"]
    assert sorted(p.name for p in cache_dir.iterdir()) == [
        f"outcome_gym-compile-{n}.lock" for n in "abc"]


def test_a_callee_module_comes_before_its_caller(cache_dir):
    log: list[str] = []
    # "caller" is listed first but calls "callee"'s compiled function
    compile_together(_modules(["caller", "other", "callee"], log, {"caller": ["callee"]}))
    assert log == ["other", "callee", "caller"]


def test_callee_modules_are_read_from_the_namespace():
    mods = _modules(["x", "y", "z"], [], {"x": ["y", "z"]})
    assert _jit._callee_modules(mods[0]) == {"y", "z"}
    assert _jit._callee_modules(mods[1]) == set()
    # the package's recorder calls the layout's and the row helpers' passes
    from outcome_gym.sim import recording
    assert {"outcome_gym.sim.layout", "outcome_gym.sim._rows"} <= _jit._callee_modules(recording)


def test_a_module_held_elsewhere_is_skipped_then_waited_for(cache_dir):
    cache_dir.mkdir()
    log: list[str] = []
    held = _lock(cache_dir, "a")
    held.acquire()
    worker = threading.Thread(target=compile_together, args=(_modules(["a", "b", "c"], log),))
    worker.start()
    deadline = time.monotonic() + 30
    while log != ["b", "c"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log == ["b", "c"]  # the free modules first
    time.sleep(0.2)
    assert worker.is_alive() and log == ["b", "c"]  # waiting for "a", not compiling it
    held.release()
    worker.join(30)
    assert log == ["b", "c", "a"]


def test_a_caller_waits_for_a_callee_held_elsewhere(cache_dir):
    cache_dir.mkdir()
    log: list[str] = []
    held = _lock(cache_dir, "callee")
    held.acquire()
    mods = _modules(["callee", "caller", "other"], log, {"caller": ["callee"]})
    worker = threading.Thread(target=compile_together, args=(mods,))
    worker.start()
    deadline = time.monotonic() + 30
    while log != ["other"] and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert log == ["other"]  # the caller is not compiled beside its callee
    held.release()
    worker.join(30)
    assert log == ["other", "callee", "caller"]


def test_a_holder_stuck_past_the_limit_is_compiled_around(cache_dir, monkeypatch):
    cache_dir.mkdir()
    monkeypatch.setattr(_jit, "WAIT_LIMIT", 0.3)
    log: list[str] = []
    held = _lock(cache_dir, "a")
    held.acquire()
    try:
        compile_together(_modules(["a", "b"], log))  # returns although "a" is never let go
    finally:
        held.release()
    assert log == ["b", "a"]


def test_without_a_lock_file_each_module_compiles_here(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocker / "cache"))  # cannot be a folder
    log: list[str] = []
    compile_together(_modules(["a", "b"], log))
    assert log == ["a", "b"]


# Two processes over the same cache folder, started together, each module's compile_kernel()
# 0.3 s long: no module's call in one process overlaps its call in the other (the lock), and
# each process starts with a module the other is not compiling.
SCRIPT = r"""
import json, pathlib, sys, time, types
from outcome_gym.sim._jit import compile_together
me, other = (pathlib.Path(p) for p in sys.argv[1:3])
me.touch()
deadline = time.monotonic() + 60
while not other.exists() and time.monotonic() < deadline:  # start together
    time.sleep(0.005)
spans = []
def module(name):
    m = types.ModuleType(name)
    def compile_kernel():
        t = time.monotonic(); time.sleep(0.3); spans.append((name, t, time.monotonic()))
    m.compile_kernel = compile_kernel
    return m
compile_together([module(n) for n in "abcd"])
print(json.dumps(spans))
"""


def test_two_processes_never_compile_one_module_at_once(tmp_path):
    import json
    import os

    env = {**os.environ, "PYTHONPATH": str(SRC), "NUMBA_CACHE_DIR": str(tmp_path)}
    ready = [str(tmp_path / f"ready-{i}") for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, ready[i], ready[1 - i]], env=env,
                              stdout=subprocess.PIPE, text=True) for i in range(2)]
    spans = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    by_module = [{name: (t0, t1) for name, t0, t1 in s} for s in spans]
    assert all(set(b) == set("abcd") for b in by_module)  # every module, in each process
    for name in "abcd":
        (a0, a1), (b0, b1) = by_module[0][name], by_module[1][name]
        assert a1 <= b0 or b1 <= a0, name
    # they ran side by side, and each began with a module the other was not compiling
    assert spans[0][0][1] < spans[1][-1][2] and spans[1][0][1] < spans[0][-1][2]
    assert spans[0][0][0] != spans[1][0][0]

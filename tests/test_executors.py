"""Executors (executors.py): units in worker processes and Ray tasks, retried once when they
raise or their worker dies, and a grid that gives the sequential tables and survives a kill."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecgcinc.evidence.executors import Executor, UnitsFailed, start_ray
from ecgcinc.evidence.experiments import run_experiment

ROOT = Path(__file__).resolve().parents[1]
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (requirements-scale.txt)")


def _dies_once(folder: str, job: str) -> None:
    """Kills its own worker (SIGKILL, no clean-up) on the first attempt, then succeeds."""
    attempts = Path(folder) / f"{job}.attempts"
    attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
    if job == "victim" and len(attempts.read_text()) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    (Path(folder) / f"{job}.done").write_text("ok")


def _always_raises(folder: str, job: str) -> None:
    attempts = Path(folder) / f"{job}.attempts"
    attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
    if job == "broken":
        raise RuntimeError("this unit is broken")
    (Path(folder) / f"{job}.done").write_text("ok")


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance on 2 CPUs for this module; this module's tasks travel by value
    (the workers do not import the test files)."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (requirements-scale.txt)")
    ray = start_ray(Executor("ray", workers=2))
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture(params=["process", pytest.param("ray", marks=needs_ray)])
def executor(request) -> Executor:
    if request.param == "ray":
        request.getfixturevalue("ray_instance")
    return Executor(request.param, workers=2)


def test_a_killed_worker_is_retried_once_and_the_rest_finish(tmp_path, executor):
    jobs = ["first", "victim", "last"]
    executor.run_all(_dies_once, str(tmp_path), jobs, jobs)
    assert all((tmp_path / f"{job}.done").exists() for job in jobs)
    assert (tmp_path / "victim.attempts").read_text() == "xx"
    assert (tmp_path / "first.attempts").read_text() == "x"


def test_a_unit_that_fails_twice_is_named_and_nothing_else_is_lost(tmp_path, executor):
    jobs = ["first", "broken", "last"]
    with pytest.raises(UnitsFailed, match="1 of 3 unit.*broken"):
        executor.run_all(_always_raises, str(tmp_path), jobs, jobs)
    assert (tmp_path / "first.done").exists() and (tmp_path / "last.done").exists()
    assert (tmp_path / "broken.attempts").read_text() == "xx"


def test_bad_executor_settings_are_refused():
    with pytest.raises(ValueError, match="unknown executor"):
        Executor("threads")
    with pytest.raises(ValueError, match="negative"):
        Executor("process", workers=-1)


# A tiny grid: the cv experiment, 2 folds x (network + feature baseline) = 4 units, 1 epoch.
GRID = dict(quick=True, folds=2, max_records=80, verbose=0)


def _grid_config(tmp_path: Path, small_config) -> Path:
    path = tmp_path / "grid.json"
    # the fusion is not what executors change: off, so the four grid runs stay short
    path.write_text(json.dumps(small_config(model={"fusion": False}, train={"epochs": 1, "patience": 1, "min_epochs": 1,
                                                                            "loader_workers": 1}).to_dict()))
    return path


@pytest.fixture(scope="module")
def sequential_grid(tmp_path_factory, synthetic_train, small_config):
    tmp = tmp_path_factory.mktemp("grid_sequential")
    config = _grid_config(tmp, small_config)
    run_experiment("cv", synthetic_train, tmp / "out", config_file=config, **GRID)
    return config, (tmp / "out" / "cv.csv").read_text()


@pytest.mark.slow
@pytest.mark.xdist_group("sequential-grid")  # one worker computes the reference tables
@needs_ray
def test_a_grid_on_ray_gives_the_sequential_tables(ray_instance, tmp_path, synthetic_train, sequential_grid):
    """The process executor's grid is checked by the killed-and-rerun test below."""
    config, table = sequential_grid
    run_experiment("cv", synthetic_train, tmp_path / "out", config_file=config, executor=Executor("ray", workers=2),
                   **GRID)
    assert (tmp_path / "out" / "cv.csv").read_text() == table


@pytest.mark.slow
@pytest.mark.xdist_group("sequential-grid")
def test_a_grid_killed_mid_run_is_completed_by_a_re_run(tmp_path, synthetic_train, sequential_grid):
    """Kill the whole run (driver and workers) once the first unit is saved; running it again in
    two worker processes computes only the missing units and writes the sequential tables."""
    config, table = sequential_grid
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ecgcinc", "experiment", "cv", "--data", str(synthetic_train), "--out", str(out),
               "--quick", "--folds", "2", "--max-records", "80", "--config", str(config), "--executor", "process",
               "--workers", "1"]
    run = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(out.glob("cv/*/*/result.json")) and time.time() < deadline and run.poll() is None:
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    saved = {path: path.stat().st_mtime_ns for path in out.glob("cv/*/*/result.json")}
    assert 1 <= len(saved) < 4 and not (out / "cv.csv").exists()
    rerun = command[:-2] + ["--workers", "2"]
    done = subprocess.run(rerun, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list(out.glob("cv/*/*/result.json"))) == 4
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in saved.items())  # not recomputed
    assert (out / "cv.csv").read_text() == table


def test_the_ray_executor_without_ray_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    with pytest.raises(ValueError, match="requirements-scale.txt"):
        Executor("ray").run_all(_always_raises, str(tmp_path), ["first"], ["first"])

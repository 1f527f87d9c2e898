"""Where the units of an experiment grid run: in this process one after another (`local`,
the default), in worker processes of this host (`process`), or as Ray tasks on a local
instance or an existing cluster (`ray`).

An executor only has to get every unit computed.  Units are independent and each writes
its own results into the shared output folder (experiments.run_unit), so afterwards the
experiment reads every unit back exactly as a resumed sequential run does: the tables do
not depend on the executor, and finished units are never recomputed.  A unit that fails,
by an exception or because its worker died, is retried once; one that fails again is
reported by name after every other unit has finished, and the experiment stops before
its tables, so a re-run computes only what is missing.

`task(shared, job)` runs in the worker.  `shared` (the study: records and splits) travels
once per worker process, or once per cluster through Ray's object store; a job is small.
Ray is optional (requirements-scale.txt): nothing imports it unless `ray` is chosen.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import sys
import traceback
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

EXECUTORS = ("local", "process", "ray")
# Thread pools of OpenMP and BLAS, sized per worker (executors._thread_limit) as Ray sizes its
# workers'.  TensorFlow's own intra-op pool is left alone: its size changes how reductions are
# split, and with it the trained weights, so a grid would no longer reproduce sequential tables.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
ATTEMPTS = 2   # a failed unit is retried once
Task = Callable[[Any, Any], None]


class UnitsFailed(RuntimeError):
    """Units that failed twice; every other unit finished and is saved."""


@dataclass
class Executor:
    name: str = "local"
    workers: int = 0                 # process: worker processes; ray: CPUs of a local instance (0: all cores)
    address: str | None = None       # ray: an existing cluster ("auto", "ray://host:10001"); None starts one
    gpus_per_unit: float = 0.0       # ray: GPUs reserved for each unit (Ray sets CUDA_VISIBLE_DEVICES)

    def __post_init__(self):
        if self.name not in EXECUTORS:
            raise ValueError(f"unknown executor {self.name!r}; choose from {', '.join(EXECUTORS)}")
        if self.workers < 0 or self.gpus_per_unit < 0:
            raise ValueError("executor workers and GPUs per unit must not be negative")

    def run_all(self, task: Task, shared: Any, jobs: Sequence[Any], names: Sequence[str]) -> None:
        """Run task(shared, job) for every job in worker processes or Ray tasks; raises UnitsFailed
        naming the units that failed twice.  (`local` units run in the caller, as they always have.)"""
        if self.name == "local":
            raise ValueError("the local executor runs units in the calling process, not through run_all")
        if not jobs:
            return
        runner = {"process": _processes, "ray": _ray}[self.name]
        failed = runner(self, task, shared, list(jobs), list(names))
        if failed:
            raise UnitsFailed(f"{len(failed)} of {len(jobs)} unit(s) failed twice (the others are saved; "
                              "re-running the same command computes only these): " + "; ".join(failed))

    def cpu_workers(self) -> int:
        return self.workers or os.cpu_count() or 1


def _worker_loop(connection, task: Task, shared: Any) -> None:
    """A worker process: runs the jobs it is sent until it is sent None; answers None when a
    job is done, or the job's traceback when it raised."""
    while (job := connection.recv()) is not None:
        try:
            task(shared, job)
            connection.send(None)
        except Exception:
            connection.send(traceback.format_exc())


@contextlib.contextmanager
def _thread_limit(threads: int) -> Iterator[None]:
    """The environment a worker starts with: its share of the cores for the numerical
    libraries' thread pools (as Ray gives its workers), so W workers do not each start a
    pool of every core and fight over them.  Settings the user made are kept."""
    saved = dict(os.environ)
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(threads))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _Worker:
    """A spawned worker process (spawn: forking a process that has started TensorFlow or JAX
    threads is unsafe) with its pipe and the job it holds."""

    def __init__(self, context, task: Task, shared: Any, threads: int):
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker_loop, args=(child, task, shared), daemon=True)
        with _thread_limit(threads):
            self.process.start()
        child.close()
        self.job: int | None = None

    @property
    def handles(self) -> set:
        """What becomes ready when the held job ends: the pipe (an answer) or the process (death)."""
        return {self.connection, self.process.sentinel}

    def start(self, index: int, job: Any) -> None:
        self.job = index
        self.connection.send(job)

    def finish(self) -> tuple[int, str | None]:
        """After a handle became ready: the job it held, and None when that job is done, else why not."""
        index, self.job = self.job, None
        try:
            return index, self.connection.recv()
        except (EOFError, OSError):
            self.process.join()
            return index, f"worker died, exit status {self.process.exitcode}"


class _Pool:
    """The process executor's workers and its queue of units, one method per job: hand out
    units, wait for results, retry or give up a failed unit, and shut the workers down."""

    def __init__(self, executor: Executor, task: Task, shared: Any, jobs: list, names: list[str]):
        self.context = multiprocessing.get_context("spawn")
        self.task, self.shared, self.jobs, self.names = task, shared, jobs, names
        count = min(executor.cpu_workers(), len(jobs))
        self.threads = max((os.cpu_count() or 1) // count, 1)
        self.workers = [self._new_worker() for _ in range(count)]
        self.pending, self.attempts, self.failed = deque(range(len(jobs))), Counter(), []

    def _new_worker(self) -> _Worker:
        return _Worker(self.context, self.task, self.shared, self.threads)

    def busy(self) -> bool:
        return bool(self.pending) or any(w.job is not None for w in self.workers)

    def assign(self) -> None:
        """Every idle worker takes the next pending unit."""
        for worker in self.workers:
            if worker.job is None and self.pending:
                index = self.pending.popleft()
                self.attempts[index] += 1
                worker.start(index, self.jobs[index])

    def collect(self) -> None:
        """Wait until a worker answers; a dead worker is replaced and its unit settled."""
        busy = [w for w in self.workers if w.job is not None]
        ready = set(multiprocessing.connection.wait([handle for w in busy for handle in w.handles]))
        for k, worker in enumerate(self.workers):
            if worker.job is None or not worker.handles & ready:
                continue
            index, problem = worker.finish()
            if problem is None:
                continue
            if not worker.process.is_alive():
                self.workers[k] = self._new_worker()
            self.settle(index, problem)

    def settle(self, index: int, problem: str) -> None:
        """A failed unit: retried once, then listed as failed."""
        print(f"unit {self.names[index]}: {problem}", file=sys.stderr, flush=True)
        reason = problem.strip().splitlines()[-1]
        if self.attempts[index] < ATTEMPTS:
            print(f"unit {self.names[index]} failed ({reason}); retrying it once", file=sys.stderr, flush=True)
            self.pending.append(index)
        else:
            self.failed.append(f"{self.names[index]} ({reason})")

    def close(self) -> None:
        """Ask every live worker to stop; one that does not within 10 s is terminated."""
        for worker in self.workers:
            if worker.process.is_alive():
                worker.connection.send(None)
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.terminate()


def _processes(executor: Executor, task: Task, shared: Any, jobs: list, names: list[str]) -> list[str]:
    """`workers` long-lived worker processes (the study is sent to each once, the framework
    imported once), each running one unit at a time.  A worker that dies costs only the unit
    it held an attempt, and is replaced."""
    pool = _Pool(executor, task, shared, jobs, names)
    try:
        while pool.busy():
            pool.assign()
            pool.collect()
    finally:
        pool.close()
    return pool.failed


def start_ray(executor: Executor):
    """The Ray module, connected to the executor's cluster or to a new local instance of
    `workers` CPUs whose workers import this package from where this process does."""
    try:
        import ray
    except ImportError as error:
        raise ValueError("the ray executor needs Ray: pip install -r requirements-scale.txt") from error
    if ray.is_initialized():
        return ray
    if executor.address:
        ray.init(address=executor.address, log_to_driver=True)
    else:
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        ray.init(num_cpus=executor.cpu_workers(), include_dashboard=False, log_to_driver=True,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
    return ray


def _ray(executor: Executor, task: Task, shared: Any, jobs: list, names: list[str]) -> list[str]:
    """One Ray task per unit.  Ray itself retries a task once, whether it raised
    (retry_exceptions) or its worker died (max_retries)."""
    ray = start_ray(executor)
    remote = ray.remote(num_cpus=1, num_gpus=executor.gpus_per_unit, max_retries=ATTEMPTS - 1,
                        retry_exceptions=True)(task)
    shared_ref = ray.put(shared)
    refs = [remote.options(name=f"unit {name}").remote(shared_ref, job) for job, name in zip(jobs, names)]
    failed = []
    for ref, name in zip(refs, names):
        try:
            ray.get(ref)
        except ray.exceptions.RayError as error:
            failed.append(f"{name} ({type(error).__name__}: {str(error).strip().splitlines()[-1][:300]})")
    return failed

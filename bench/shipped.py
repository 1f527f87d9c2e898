"""What ships, end to end: driver.py with the default configuration, idle and with the cores busy.

    python -m bench.shipped [--train N] [--test N] [--busy K] [--out bench/results/shipped.json]

Two model folders, each as `train_model.py` writes it with no configuration:
  - for the Challenge's corpus (88,253 records on the organisers' machine of 2021, 10 vCPU and a
    T4): "auto" picks the paper size there (challenge_config), with the wide features and the
    fusion of a feature model per lead-set view.  This is what the test sets are run on.
  - for a small folder (N records): "auto" picks the small size, with the head start and the
    generated records beside the folder's own.
Each is trained by train.train on N synthetic records, its epochs cut to 2: speed does not depend
on the weights, and the feature models are fitted as training fits them.  Then, for each, on the
same test records (10-s, 500-Hz, 12-lead) and in one run:

  - `python driver.py MODEL DATA OUT` as the organisers run it, wall time per record (start-up
    and model loading included) and the loop's own time per record;
  - the parts of one record's prediction in this process: reading, preprocessing, the classic
    features, the network, the feature model with the fusion;
  - the same driver run while K processes keep the cores busy (numpy matrix products, each on one
    thread: "two busy processes" as the issue measured), as a ratio to the idle run, beside the
    same ratio of a single-threaded reference (one matrix product on one thread) measured in
    the same run: what the load does to any one thread of work on this machine.

Timings vary from run to run on a shared machine: compare the ratios of one run.  Prints a table
and writes JSON.
"""
from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _burn(stop) -> None:
    """One busy process: single-threaded matrix products until told to stop."""
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
    a = np.random.default_rng(0).random((256, 256))
    while not stop.is_set():
        a = a @ a
        a /= np.abs(a).max()


class Busy:
    """K busy processes for the duration of a with-block."""

    def __init__(self, count: int):
        self.count = count
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.processes = [context.Process(target=_burn, args=(self.stop,), daemon=True) for _ in range(count)]

    def __enter__(self) -> "Busy":
        for process in self.processes:
            process.start()
        time.sleep(1.0 if self.count else 0.0)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(10)


ORGANISERS_CORES, ORGANISERS_GPUS = 10, 1  # the 2021 Challenge's training machine (the T4 was optional)


def challenge_config():
    """The configuration `train_model.py` resolves "auto" to for the Challenge's training corpus on
    the organisers' machine, and why (sizes.resolve)."""
    from ecgcinc.core.config import Config
    from ecgcinc.signals.challenge_corpus import FULL_SIZE
    from ecgcinc.training.sizes import Machine, resolve
    cfg, choice = resolve(Config(), FULL_SIZE, Machine(ORGANISERS_CORES, ORGANISERS_GPUS))
    return cfg, choice.reason


def train_default(data: Path, model: Path, cfg=None, epochs: int = 2) -> dict:
    """A default configuration (`cfg`, else Config() resolved on `data`), trained for `epochs` epochs."""
    from ecgcinc.core.config import Config, with_overrides
    from ecgcinc.training.train import train
    cfg = with_overrides(cfg or Config(), {"train": {"epochs": epochs, "min_epochs": 1, "patience": epochs}})
    history = train(data, model, cfg, verbose=0)
    return {"size": history["size"]["size"], "epochs": epochs, "fusion": bool(history.get("feature_model_s")),
            "wide_features": cfg.model.wide_features}


def driver_run(model: Path, data: Path, out: Path) -> dict:
    """driver.py in a subprocess: wall seconds per record, start-up and model loading included."""
    records = len(list(data.glob("*.hea")))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "driver.py", str(model), str(data), str(out)], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"driver.py failed: {done.stderr.strip()[-500:]}")
    seconds = time.perf_counter() - started
    return {"records": records, "wall_ms_per_record": 1e3 * seconds / records}


def loop_timings(model: Path, data: Path, out: Path) -> list[float]:
    """The driver's loop in this process (the network already loaded): seconds per record."""
    from ecgcinc.serving.predict import predict_folder
    timings: list[float] = []
    predict_folder(model, data, out, verbose=0, timings=timings)
    return timings


def parts(model: Path, data: Path) -> dict[str, list[float]]:
    """One record's prediction, step by step, for every test record."""
    from ecgcinc.decision.feature_model import design_matrix
    from ecgcinc.signals.features import record_measures
    from ecgcinc.serving.inference import signal_probabilities
    from ecgcinc.signals.lead_sets import as_seen
    from ecgcinc.serving.predict import load_predictor
    from ecgcinc.signals.preprocess import network_meta, preprocess_record
    from ecgcinc.io.records import find_records, read_record
    predictor = load_predictor(model)
    cfg = predictor.cfg
    steps: dict[str, list[float]] = {name: [] for name in ("read", "preprocess", "features", "network",
                                                           "feature model and fusion")}

    def timed(name, fn):
        started = time.perf_counter()
        value = fn()
        steps[name].append(time.perf_counter() - started)
        return value
    for header in find_records(data):
        record = timed("read", lambda: as_seen(read_record(header), predictor.allowed, cfg.preprocess.derive_limb_leads))
        x, meta = timed("preprocess", lambda: preprocess_record(record, cfg.preprocess))
        features, beats = timed("features", lambda: record_measures(record))
        inputs = network_meta(meta[None], features[None], beats[None], cfg.model)
        raw = timed("network", lambda: signal_probabilities(predictor.network, [x], inputs, cfg.preprocess))
        design = design_matrix(meta[None], features[None])
        timed("feature model and fusion", lambda: predictor.fusion.combine_designs(raw, design, record.mask[None]))
    return steps


def reference_ms(seconds: float = 2.0) -> float:
    """A single-threaded reference measured beside the driver: wall milliseconds per 192 x 192
    matrix product on one BLAS thread, over `seconds` of products back to back (the wall time
    counts the slices of time the process waits for a core, as the driver's loop does; the median
    of single products would not).  Its busy / idle ratio is what the load does to one thread of
    work on this machine, which the driver's ratio is to be read against."""
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(1).random((192, 192))
    count = 0
    with threadpool_limits(1):
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            a @ a
            count += 1
        return 1e3 * (time.perf_counter() - started) / count


def summary(seconds: list[float]) -> dict:
    values = 1e3 * np.asarray(seconds)
    return {"median_ms": float(np.median(values)), "p90_ms": float(np.percentile(values, 90)), "n": len(values)}


def measure(train_records: int, test_records: int, busy: int, work: Path, cfg=None, what: str = "") -> dict:
    """The driver's speed on a model folder of `cfg` (default: Config() on `train_records` records)."""
    from ecgcinc.signals import synth
    train_dir, test_dir, model = work / "train", work / "test", work / "model"
    if not train_dir.is_dir():
        synth.write_dataset(train_dir, train_records, seed=21)
        synth.write_dataset(test_dir, test_records, seed=7, sources=["XA"])
    trained = train_default(train_dir, model, cfg)
    result = {"configuration": f"{what or 'shipped default'} (Config(), size auto -> {trained['size']}, "
                               f"wide features {'on' if trained['wide_features'] else 'off'}, fusion per lead-set "
                               f"view {'on' if trained['fusion'] else 'off'}), trained {trained['epochs']} epochs",
              "train_records": train_records, "busy_processes": busy}
    loop_timings(model, test_dir, work / "warm")   # loads and compiles the network once
    for state, count in (("idle", 0), ("contended", busy)):
        with Busy(count):
            result[state] = {"driver": driver_run(model, test_dir, work / f"out-{state}"),
                             "loop": summary(loop_timings(model, test_dir, work / f"loop-{state}")),
                             "reference_ms": reference_ms()}
    result["parts_idle"] = {name: summary(values) for name, values in parts(model, test_dir).items()}
    shutil.rmtree(model)  # the next folder trains on the same records
    result["contended_vs_idle"] = {
        "driver": result["contended"]["driver"]["wall_ms_per_record"] / result["idle"]["driver"]["wall_ms_per_record"],
        "loop": result["contended"]["loop"]["median_ms"] / result["idle"]["loop"]["median_ms"],
        "reference": result["contended"]["reference_ms"] / result["idle"]["reference_ms"]}
    return result


def table(result: dict) -> str:
    rows = [("driver.py, whole run per record, idle (ms)", f"{result['idle']['driver']['wall_ms_per_record']:.1f}",
             f"{result['idle']['driver']['records']} records, start-up and model loading included"),
            ("driver.py loop per record, idle (ms)", f"{result['idle']['loop']['median_ms']:.1f}",
             f"p90 {result['idle']['loop']['p90_ms']:.1f}")]
    rows += [(f"  of which {name} (ms)", f"{value['median_ms']:.2f}", "one record, this process")
             for name, value in result["parts_idle"].items()]
    busy = result["busy_processes"]
    rows += [(f"driver.py, whole run per record, {busy} busy processes (ms)",
              f"{result['contended']['driver']['wall_ms_per_record']:.1f}",
              f"{result['contended_vs_idle']['driver']:.2f}x idle"),
             (f"driver.py loop per record, {busy} busy processes (ms)", f"{result['contended']['loop']['median_ms']:.1f}",
              f"{result['contended_vs_idle']['loop']:.2f}x idle"),
             ("single-threaded reference, busy vs idle", f"{result['contended_vs_idle']['reference']:.2f}x",
              "one 192x192 matrix product on one thread, same run: what the load does to one thread")]
    width = max(len(r[0]) for r in rows)
    lines = [result["configuration"], f"{'measure':<{width}}  {'median':>8}  notes", "-" * (width + 30)]
    return "\n".join(lines + [f"{r[0]:<{width}}  {r[1]:>8}  {r[2]}" for r in rows])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=200, help="training records (default %(default)s)")
    parser.add_argument("--test", type=int, default=100, help="test records (default %(default)s)")
    parser.add_argument("--busy", type=int, default=2, help="busy processes in the contended run (default %(default)s)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "shipped.json"))
    args = parser.parse_args(argv)
    cfg, reason = challenge_config()
    with tempfile.TemporaryDirectory(prefix="ecgcinc-shipped-") as tmp:
        result = {"challenge_sized": measure(args.train, args.test, args.busy, Path(tmp), cfg,
                                             "for the Challenge's corpus on the organisers' machine"),
                  "small_folder": measure(args.train, args.test, args.busy, Path(tmp), None,
                                          f"for a small folder of {args.train} records")}
    result["challenge_sized"]["why"] = reason
    return publish(result, both_tables, Path(args.out))


def both_tables(result: dict) -> str:
    """The Challenge-sized folder's table first: the folder the test sets are run on."""
    return table(result["challenge_sized"]) + "\n\n" + table(result["small_folder"])


def publish(result: dict, make_table, out: Path) -> dict:
    """A benchmark's result with its date, core count and table: printed, and written as JSON."""
    result.update(date=datetime.date.today().isoformat(), cores=os.cpu_count())
    result["table"] = make_table(result)
    print(result["table"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

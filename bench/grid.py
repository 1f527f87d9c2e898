#!/usr/bin/env python
"""Executors on a tiny experiment grid: python -m bench.grid [--records N] [--workers W] [--out DIR]

Synthesises N multi-source records, then runs the same grid (the cv experiment at quick
size with the small network: 2 folds x 2 seeds x (network + feature baseline) = 8 units,
6 epochs) once per executor, each into a fresh output folder: `local` (one unit after
another in this process, the reference), `process` and, when Ray is installed, `ray`,
both with W units at a time.  Reports the wall time of each and its speed-up over the
sequential run of the same invocation, and checks that every executor wrote the same
table.  A grid cannot go faster than its cores allow: on a 2-core machine expect at most
about 2x, less the workers' start-up (importing TensorFlow, starting Ray).
Writes <out>/grid.json.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ecgcinc.signals import synth  # noqa: E402
from ecgcinc.core.classes import load_classes  # noqa: E402
from ecgcinc.dataset.data import load_examples  # noqa: E402
from ecgcinc.core.config import SMALL_CONFIG, load_config, with_overrides  # noqa: E402
from ecgcinc.evidence.executors import Executor  # noqa: E402
from ecgcinc.evidence.experiments import run_experiment  # noqa: E402

GRID = dict(quick=True, folds=2, seeds=2, verbose=0)
TRAIN = {"epochs": 6, "patience": 6, "min_epochs": 1, "loader_workers": 1}


def run_grid(data: Path, work: Path, config: Path, executor: Executor) -> tuple[float, str]:
    """Seconds for the whole grid (units and tables) and the cv table it wrote."""
    out = work / executor.name
    started = time.perf_counter()
    run_experiment("cv", data, out, config_file=config, executor=executor, max_records=0, **GRID)
    return time.perf_counter() - started, (out / "cv.csv").read_text()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    names = ["local", "process"] + (["ray"] if importlib.util.find_spec("ray") else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        synth.write_dataset(work / "data", args.records, seed=5)
        config = work / "grid.json"
        config.write_text(json.dumps(with_overrides(load_config(SMALL_CONFIG), {"train": TRAIN}).to_dict()))
        # The records' cache (in the temporary folder; workers inherit the setting) is built
        # once before timing, so no executor pays for it.
        os.environ["ECGCINC_CACHE"] = str(work / "cache")
        load_examples(work / "data", load_classes(), load_config(config))
        timings = {name: run_grid(work / "data", work, config, Executor(name, workers=args.workers))
                   for name in names}
    reference = timings["local"][0]
    rows = [{"executor": name, "seconds": round(seconds, 1), "speedup": round(reference / seconds, 2),
             "same_table": table == timings["local"][1]} for name, (seconds, table) in timings.items()]
    print(f"{'executor':<10}{'seconds':>10}{'speed-up':>10}  same table")
    for row in rows:
        print(f"{row['executor']:<10}{row['seconds']:>10.1f}{row['speedup']:>9.2f}x  {row['same_table']}")
    result = {"date": datetime.date.today().isoformat(), "machine": platform.machine(), "cpus": os.cpu_count(),
              "python": sys.version.split()[0], "records": args.records, "workers": args.workers,
              "units": 8, "grid": "cv, 2 folds x 2 seeds x (network + feature baseline), 6 epochs",
              "results": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "grid.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Start-up of the commands that need no network, against the official evaluator in the same run.

    python -m bench.startup [--official DIR] [--repeats 5] [--out bench/results/startup.json]

Each command runs `--repeats` times as a fresh process on the 13 real records of tests/data/real
(their labels and outputs written by this script); the table gives the median wall time and its
ratio to the official evaluate_model.py (a checkout of physionetchallenges/evaluation-2021 named
by --official, run from its own folder since it reads weights.csv there).  Without --official the
ratios are left out.  The goal: every command within 2x of the official evaluator and under 1 s.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "tests" / "data" / "real"


def prepare(work: Path) -> tuple[Path, Path]:
    """A labels folder (the real records) and an outputs folder with one output file each."""
    import numpy as np
    from ecgcinc.core.classes import load_classes
    from ecgcinc.io.outputs import write_outputs
    from ecgcinc.io.records import find_records
    labels, outputs = work / "labels", work / "outputs"
    shutil.copytree(RECORDS, labels, ignore=shutil.ignore_patterns("*.md"))
    outputs.mkdir()
    classes = load_classes()
    rng = np.random.default_rng(0)
    for header in find_records(labels):
        p = np.round(rng.random(len(classes)), 3)
        write_outputs(outputs / f"{header.stem}.csv", header.stem, classes.names, [int(v > 0.5) for v in p], list(p))
    return labels, outputs


def timed(command: list[str], cwd: Path, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def commands(work: Path, labels: Path, outputs: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "evaluate_model.py (this project)": [py, str(ROOT / "evaluate_model.py"), str(labels), str(outputs),
                                             str(work / "scores.csv"), str(work / "class_scores.csv")],
        "python -m ecgcinc --help": [py, "-m", "ecgcinc", "--help"],
        "python -m ecgcinc synth (1 record)": [py, "-m", "ecgcinc", "synth", str(work / "synth"), "--n", "1",
                                               "--workers", "1"],
        "python -m ecgcinc leads (13 records)": [py, "-m", "ecgcinc", "leads", str(labels), str(work / "leads"),
                                                 "--leads", "I", "II"],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", help="folder of the official evaluation-2021 code (evaluate_model.py)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "startup.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        labels, outputs = prepare(work)
        rows: dict[str, list[float]] = {}
        if args.official:
            official = Path(args.official).resolve()
            rows["official evaluate_model.py (reference)"] = timed(
                [sys.executable, str(official / "evaluate_model.py"), str(labels), str(outputs),
                 str(work / "official_scores.csv"), str(work / "official_class_scores.csv")], official, args.repeats)
        for name, command in commands(work, labels, outputs).items():
            rows[name] = timed(command, ROOT, args.repeats)
    reference = statistics.median(next(iter(rows.values()))) if args.official else None
    table = []
    for name, seconds in rows.items():
        median = statistics.median(seconds)
        table.append({"command": name, "median_s": median, "min_s": min(seconds), "repeats": len(seconds),
                      "vs_official": median / reference if reference else None})
    print(f"{'command':<42} {'median s':>9} {'min s':>7} {'vs official':>12}")
    for row in table:
        ratio = f"{row['vs_official']:.2f}x" if row["vs_official"] else "n/a"
        print(f"{row['command']:<42} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {ratio:>12}")
    result = {"date": datetime.date.today().isoformat(), "cores": os.cpu_count(), "records": 13, "table": table}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

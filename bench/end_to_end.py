#!/usr/bin/env python
"""The Challenge's run end to end, as the organisers run it: raw files to a model folder to outputs.

    python -m bench.end_to_end [--records 88253] [--test 1000] [--work DIR] [--out FILE]

Nothing is extrapolated here (bench/scale.py extrapolates from one epoch); every step really runs:
1. generation: `python -m ecgcinc synth --challenge-scale` writes RECORDS training records of the
   2021 training set's shape (the eight sources' counts, rates and lengths) and, with another
   seed, TEST held-out ones;
2. training: `python train_model.py DATA MODEL` with no configuration, in a fresh cache folder, so
   caching is part of it as on the organisers' first run; its log, time-stamped line by line as it
   arrives, splits it into caching (to the record accounting), the feature models of the fusion
   (to "training on"; a small folder's generated records are drawn and cached there too), the
   epochs (to "kept epoch") and thresholds with saving (to "Done");
3. inference: `python driver.py MODEL TEST OUT` on the held-out records.
Each step runs under a launcher that reports the peak resident memory of the largest process of
the step (ru_maxrss of the waited children: training's worker processes included).  Prints a
table and writes JSON (bench/results/end_to_end-<records>.json).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (phase, the log line that ends it), in order: train_model.py's own log lines
PHASES = (("caching", r"[\d,]+ records: [\d,]+ usable"), ("feature models and split", r"training on "),
          ("epochs", r"kept epoch "), ("thresholds and saving", r"Done"))
LAUNCHER = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
            "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(code)")


def run_step(command: list[str], env: dict[str, str], log: Path) -> dict:
    """One step in its launcher: wall seconds, peak memory and every output line with the second
    it arrived at."""
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen([sys.executable, "-c", LAUNCHER, *command], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process, open(log, "w") as handle:
        for line in process.stdout:
            lines.append((time.monotonic() - started, line.rstrip()))
            handle.write(f"{lines[-1][0]:9.1f}  {line}")
            handle.flush()  # the log is there to be watched while a long step runs
    peak = next((int(text.split()[1]) for _, text in lines if text.startswith("PEAK_RSS_KIB")), 0)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed (exit {process.returncode}); see {log}")
    return {"wall_s": round(time.monotonic() - started, 1), "peak_rss_gib": round(peak / 2**20, 2),
            "lines": lines}


def phases(lines: list[tuple[float, str]], total_s: float) -> dict[str, float]:
    """Seconds of each training phase, from when the lines that end them arrived."""
    result, start = {}, 0.0
    for name, marker in PHASES:
        end = next((t for t, text in lines if re.match(marker, text)), None)
        if end is None or end < start:
            continue
        result[name], start = round(end - start, 1), end
    result["process start-up and the rest"] = round(total_s - sum(result.values()), 1)
    return result


def measure(records: int, test: int, work: Path) -> dict:
    from ecgcinc.signals.challenge_corpus import FULL_SIZE
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "ECGCINC_CACHE": str(work / "cache"), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    workers = str(os.cpu_count() or 1)
    synth = [sys.executable, "-m", "ecgcinc", "synth", "--workers", workers, "--challenge-scale"]
    result = {"records_asked": records, "test_records_asked": test}
    result["generation"] = run_step(synth + [f"{records / FULL_SIZE:.8f}", str(work / "data"), "--seed", "2021"],
                                    env, work / "generation.log")
    result["test_generation"] = run_step(synth + [f"{test / FULL_SIZE:.8f}", str(work / "test"), "--seed", "7"],
                                         env, work / "test_generation.log")
    result["training"] = run_step([sys.executable, "train_model.py", str(work / "data"), str(work / "model")],
                                  env, work / "training.log")
    result["training"]["phases"] = phases(result["training"]["lines"], result["training"]["wall_s"])
    result["inference"] = run_step([sys.executable, "driver.py", str(work / "model"), str(work / "test"),
                                    str(work / "outputs")], env, work / "inference.log")
    result["records"] = len(list((work / "data").glob("*.hea")))
    result["test_records"] = len(list((work / "test").glob("*.hea")))
    result["outputs"] = len(list((work / "outputs").glob("*.csv")))
    history = json.loads((work / "model" / "history.json").read_text())
    result["model"] = {"size": history["size"], "epochs_run": len(history["epochs"]), "best_epoch": history["best_epoch"],
                       "fusion_dropped": history.get("fusion_dropped", ""), "budget_stop": history.get("budget_stop", ""),
                       "cache_gb": round(sum(p.stat().st_size for p in (work / "cache").rglob("*") if p.is_file()) / 1e9, 2)}
    for step in ("generation", "test_generation", "training", "inference"):
        result[step]["log_tail"] = [text for _, text in result[step].pop("lines")[-8:]]
    result["inference"]["ms_per_record"] = round(1e3 * result["inference"]["wall_s"] / max(result["test_records"], 1), 1)
    return result


def table(result: dict) -> str:
    rows = [("generation (training records)", result["generation"]), ("generation (held-out records)",
             result["test_generation"]), ("train_model.py", result["training"]), ("driver.py", result["inference"])]
    lines = [f"{result['records']:,} training records, {result['test_records']:,} held out; "
             f"{result['cores']} cores, {result['gpus']}; size {result['model']['size']['size']}, "
             f"{result['model']['epochs_run']} epochs run, epoch {result['model']['best_epoch']} kept",
             f"{'step':<40} {'wall':>10} {'peak RSS':>10}", "-" * 62]
    lines += [f"{name:<40} {_clock(step['wall_s']):>10} {step['peak_rss_gib']:>8.2f} GiB" for name, step in rows]
    lines += [f"  train_model.py: {name:<24} {_clock(seconds):>10}"
              for name, seconds in result["training"]["phases"].items()]
    lines.append(f"driver.py per record (start-up included): {result['inference']['ms_per_record']} ms; "
                 f"{result['outputs']:,} output files; cache {result['model']['cache_gb']} GB")
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=88_253, help="training records (default: the 2021 set's)")
    parser.add_argument("--test", type=int, default=1_000, help="held-out records for driver.py")
    parser.add_argument("--work", default="runs/end-to-end", help="folder for the records, cache and model")
    parser.add_argument("--out", help="JSON file (default bench/results/end_to_end-<records>.json)")
    args = parser.parse_args(argv)
    from bench.shipped import publish
    from ecgcinc.training.sizes import gpu_count
    result = measure(args.records, args.test, Path(args.work))
    result["gpus"] = f"{gpu_count()} GPU(s)"
    out = Path(args.out or ROOT / "bench" / "results" / f"end_to_end-{args.records}.json")
    return publish(result, table, out)


if __name__ == "__main__":
    main()

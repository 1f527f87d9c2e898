#!/usr/bin/env python
"""The training path on a corpus of the 2021 Challenge's shape, measured and extrapolated.

    python -m bench.scale --scale 0.25 [--sizes small medium paper] [--work DIR] [--out FILE]

1. Writes the Challenge-shaped synthetic corpus at `--scale` (challenge_corpus.py: the eight
   sources' record counts, rates and lengths, INCART's half-hour records included), once.
2. For every preprocessing the sizes need, builds the cache in a fresh process: time in total
   and per record, the cores it used, its size on disk, the process's peak RSS.
3. For every size, runs `train()` (the harness's training path: cache, the feature model of the
   fusion, one epoch with its validation scoring, thresholds, saving) in a fresh process: the
   feature model's fit, the epoch's time, the whole path's time, peak RSS (VmHWM) and the
   anonymous and file-backed memory at the end.
4. Extrapolates to the full 88,253 records on the 2021 training machine (10 vCPU, no GPU):
   caching, the feature model and epochs grow with the records; caching divides over the cores,
   and training and the feature model speed up as sizes.speed_factor says (cores ** 0.75); the
   file-backed memory beyond the shared libraries (the cache's resident pages) grows with the
   records while the anonymous memory and the libraries stay; the size's epochs without early
   stopping bound the training.  Every extrapolated figure is marked so in the JSON and the table.
Writes bench/results/scale.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MACHINE = {"cores": 10, "gpus": 0}      # the 2021 training machine without its optional GPU
LIMIT_H = 72.0                                  # the 2021 training limit without a GPU
RSS_GOAL_GIB = 16.0


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory() -> dict[str, float]:
    return {"peak_rss_mib": status_kib("VmHWM") / 1024, "rss_anon_end_mib": status_kib("RssAnon") / 1024,
            "rss_file_end_mib": status_kib("RssFile") / 1024}


def sized(size: str, epochs: int = 1):
    """The size's configuration for the measured runs.  The head start is off: the full corpus is
    far above head_start.MAX_RECORDS, so it trains from random weights without generated records,
    and a scaled-down corpus must time that path, not the small-folder one."""
    from ecgcinc.core.config import config_from_dict
    return config_from_dict({"model": {"size": size}, "train": {"epochs": epochs, "min_epochs": 1, "patience": 1,
                                                                "head_start": "off"}})


def child_cache(data: Path, size: str) -> dict:
    """Runs in the measured process: build the cache for `size`'s preprocessing."""
    import joblib
    from ecgcinc.dataset.cache import open_cache
    started = time.perf_counter()
    entry = open_cache(data, sized(size).preprocess)
    seconds = time.perf_counter() - started
    disk = sum(p.stat().st_size for p in entry.path.iterdir())
    return {"size": size, "records": len(entry), "unreadable": len(entry.errors), "build_s": seconds,
            "ms_per_record": 1e3 * seconds / max(len(entry), 1), "cores": joblib.cpu_count(),
            "cache_bytes": disk, "record_seconds": float((entry.samples / entry.fs).sum()), **memory()}


def child_train(data: Path, model: Path, size: str) -> dict:
    """Runs in the measured process: the training path with one epoch (cache already built)."""
    from ecgcinc.training.train import train
    libraries_mib = status_kib("RssFile") / 1024   # shared libraries mapped before any record is touched
    started = time.perf_counter()
    history = train(data, model, sized(size), verbose=0)
    records = history["train_records"] + history["validation_records"]
    epoch_s = history["epochs"][0]["seconds"]
    return {"size": size, "train_records": history["train_records"],
            "validation_records": history["validation_records"], "epoch_s": epoch_s,
            "epoch_ms_per_record": 1e3 * epoch_s / records, "feature_model_s": history["feature_model_s"],
            "feature_model_ms_per_record": 1e3 * history["feature_model_s"] / history["train_records"],
            "path_s": time.perf_counter() - started, "rss_file_libraries_mib": libraries_mib, **memory()}


def in_child(kind: str, cache: Path, *args: str) -> dict:
    """One measurement in a fresh process whose preprocessing cache lives in `cache`."""
    command = [sys.executable, "-m", "bench.scale", "--child", kind, *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "ECGCINC_CACHE": str(cache)})
    if done.returncode:
        raise SystemExit(f"{kind} {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def extrapolate(cache: dict, run: dict, full: int) -> dict:
    """The 88,253-record run on the 2021 machine (see the module docstring)."""
    from ecgcinc.training.sizes import Machine, speed_factor
    factor = full / cache["records"]
    here = speed_factor(Machine(cache["cores"], 0))
    there = speed_factor(Machine(**TARGET_MACHINE))
    caching_h = cache["build_s"] * factor * cache["cores"] / TARGET_MACHINE["cores"] / 3600
    epoch_h = run["epoch_s"] * factor * here / there / 3600
    feature_model_h = run["feature_model_s"] * factor * here / there / 3600
    from ecgcinc.core.config import SIZE_PRESETS
    epochs = SIZE_PRESETS[run["size"]]["train"]["epochs"]
    return {"extrapolated": True, "records": full, "caching_h": caching_h, "epoch_h": epoch_h,
            "feature_model_h": feature_model_h, "epochs": epochs,
            "training_h_all_epochs": caching_h + feature_model_h + epochs * epoch_h,
            "cache_gb": cache["cache_bytes"] * factor / 1e9,
            "peak_rss_gib": (run["rss_anon_end_mib"] + run["rss_file_libraries_mib"]
                             + (run["rss_file_end_mib"] - run["rss_file_libraries_mib"]) * factor) / 1024}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--sizes", nargs="+", default=["small", "medium", "paper"])
    parser.add_argument("--work", default="runs/scale")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scale.json"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        result = child_cache(Path(rest[0]), rest[1]) if kind == "cache" else child_train(*map(Path, rest[:2]), rest[2])
        print(json.dumps(result))
        return result
    from ecgcinc.signals.challenge_corpus import FULL_SIZE, write_corpus
    work = Path(args.work).resolve()  # the children run in the repository root
    data = work / f"challenge_{args.scale:g}"
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)  # every run measures a cache built from nothing
    if not (data / "DONE").is_file():
        started = time.perf_counter()
        counts = write_corpus(data, args.scale, args.seed, workers=os.cpu_count() or 1)
        (data / "DONE").write_text(json.dumps({"counts": counts, "seconds": time.perf_counter() - started}))
    caches: dict[float, dict] = {}
    rows = []
    for size in args.sizes:
        fs = sized(size).preprocess.fs
        if fs not in caches:
            caches[fs] = in_child("cache", cache, str(data), size)
        run = in_child("train", cache, str(data), str(work / f"model_{size}"), size)
        rows.append({"size": size, "cache": caches[fs], "run": run, "full": extrapolate(caches[fs], run, FULL_SIZE)})
    print_table(rows, args.scale)
    result = {"date": datetime.date.today().isoformat(), "scale": args.scale, "target_machine": TARGET_MACHINE,
              "limit_h": LIMIT_H, "rss_goal_gib": RSS_GOAL_GIB, "corpus": json.loads((data / "DONE").read_text()),
              "sizes": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return result


def print_table(rows: list[dict], scale: float) -> None:
    print(f"measured on {rows[0]['cache']['records']:,} records ({scale:g} of the 2021 training set), "
          f"{rows[0]['cache']['cores']} core(s):")
    print(f"{'size':>7} {'cache s':>8} {'ms/rec':>7} {'cache GB':>9} {'features s':>10} {'epoch s':>8} "
          f"{'path s':>7} {'peak RSS MiB':>13}")
    for r in rows:
        c, t = r["cache"], r["run"]
        print(f"{r['size']:>7} {c['build_s']:>8.1f} {c['ms_per_record']:>7.1f} {c['cache_bytes'] / 1e9:>9.2f} "
              f"{t['feature_model_s']:>10.1f} {t['epoch_s']:>8.1f} {t['path_s']:>7.1f} "
              f"{max(c['peak_rss_mib'], t['peak_rss_mib']):>13.0f}")
    print(f"extrapolated to the full corpus on {TARGET_MACHINE['cores']} vCPU without GPU "
          f"(limit {LIMIT_H:g} h, RSS goal {RSS_GOAL_GIB:g} GiB):")
    print(f"{'size':>7} {'caching h':>10} {'features h':>10} {'epoch h':>8} {'all epochs h':>12} {'cache GB':>9} "
          f"{'peak RSS GiB':>13}")
    for r in rows:
        f = r["full"]
        print(f"{r['size']:>7} {f['caching_h']:>10.2f} {f['feature_model_h']:>10.2f} {f['epoch_h']:>8.2f} "
              f"{f['training_h_all_epochs']:>12.1f} {f['cache_gb']:>9.1f} {f['peak_rss_gib']:>13.1f}")


if __name__ == "__main__":
    main()

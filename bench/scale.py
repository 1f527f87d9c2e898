#!/usr/bin/env python
"""Memory and time of training at scale: python -m bench.scale --records 2500 10000 [--work DIR]

For each size N: synthesises N multi-source records (once; kept in --work), then trains one
epoch in a fresh process with the default preprocessing (250 Hz, 20-s windows; the cache
is 12 x 250 x 2 bytes per second of record) and the small network, and reports the
process's peak RSS (VmHWM), its anonymous and file-backed resident memory at the end,
the cache size, and the time to build the cache and to train.  A straight line through
the sizes extrapolates peak RSS and cache size to the 88,000 records of the Challenge
corpus (stated as extrapolated).  Writes bench/results/scale.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = 88_000


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(data: Path, model: Path, cache: Path) -> None:
    """Runs in the measured process: build (or reuse) the cache, train one epoch, report."""
    os.environ["ECGCINC_CACHE"] = str(cache)
    from ecgcinc.cache import open_cache
    from ecgcinc.config import SMALL_CONFIG, config_from_dict
    from ecgcinc.train import train
    small = json.loads(SMALL_CONFIG.read_text())
    cfg = config_from_dict({"model": small["model"], "train": {"epochs": 1, "batch_size": 32, "patience": 1}})
    started = time.perf_counter()
    entry = open_cache(data, cfg.preprocess)
    cache_s = time.perf_counter() - started
    rss_after_cache = status_kib("VmRSS")
    started = time.perf_counter()
    train(data, model, cfg, verbose=0)
    print(json.dumps({"records": len(entry), "cache_build_s": cache_s, "train_s": time.perf_counter() - started,
                      "cache_bytes": (entry.path / "signals.f16").stat().st_size,
                      "peak_rss_mib": status_kib("VmHWM") / 1024, "rss_after_cache_mib": rss_after_cache / 1024,
                      "rss_anon_end_mib": status_kib("RssAnon") / 1024,
                      "rss_file_end_mib": status_kib("RssFile") / 1024}))


def measure(n: int, work: Path) -> dict:
    from ecgcinc import synth
    data = work / f"records_{n}"
    if not (data / "DONE").is_file():
        started = time.perf_counter()
        synth.write_dataset(data, n, seed=100 + n)
        (data / "DONE").write_text(f"{time.perf_counter() - started:.1f} s\n")
    command = [sys.executable, "-m", "bench.scale", "--child", str(data), str(work / f"model_{n}"), str(work / f"cache_{n}")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode:
        raise SystemExit(f"training on {n} records failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def extrapolate(rows: list[dict], key: str, n: int) -> float:
    """Least-squares line through (records, value), evaluated at n."""
    import numpy as np
    x = np.array([r["records"] for r in rows], dtype=float)
    y = np.array([r[key] for r in rows], dtype=float)
    slope, intercept = np.polyfit(x, y, 1) if len(rows) > 1 else (y[0] / x[0], 0.0)
    return float(slope * n + intercept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, nargs="+", default=[2500, 10000])
    parser.add_argument("--work", default="runs/scale")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scale.json"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*map(Path, args.child))
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = [measure(n, work) for n in args.records]
    estimate = {"records": CORPUS, "extrapolated": True,
                "peak_rss_mib": extrapolate(rows, "peak_rss_mib", CORPUS),
                "rss_anon_end_mib": extrapolate(rows, "rss_anon_end_mib", CORPUS),
                "cache_gb_synthetic": extrapolate(rows, "cache_bytes", CORPUS) / 1e9,
                "cache_gb_20s_records": CORPUS * 20 * 250 * 12 * 2 / 1e9}
    # Upper bound for 20-s records: the extra cache bytes all resident as well.
    estimate["peak_rss_bound_mib"] = estimate["peak_rss_mib"] + 1e3 * max(
        estimate["cache_gb_20s_records"] - estimate["cache_gb_synthetic"], 0.0) / 1.048576
    print(f"{'records':>8} {'cache MB':>9} {'build s':>8} {'train s':>8} {'peak RSS MiB':>13} "
          f"{'anon MiB':>9} {'file MiB':>9}")
    for r in rows:
        print(f"{r['records']:>8} {r['cache_bytes'] / 1e6:>9.0f} {r['cache_build_s']:>8.1f} {r['train_s']:>8.1f} "
              f"{r['peak_rss_mib']:>13.0f} {r['rss_anon_end_mib']:>9.0f} {r['rss_file_end_mib']:>9.0f}")
    print(f"extrapolated to {CORPUS} records: peak RSS {estimate['peak_rss_mib'] / 1024:.1f} GiB "
          f"(anonymous {estimate['rss_anon_end_mib'] / 1024:.1f} GiB), cache "
          f"{estimate['cache_gb_synthetic']:.1f} GB for these record lengths, "
          f"{estimate['cache_gb_20s_records']:.1f} GB for 20-s records; peak RSS bound for 20-s records "
          f"{estimate['peak_rss_bound_mib'] / 1024:.1f} GiB")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"sizes": rows, "estimate": estimate}, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Per-record cost of the measures a cache entry holds, against reading and preprocessing.

    python -m bench.features DATA [--records 300] [--out bench/results/features.json]

For the first --records records of DATA: reading (records.read_record), preprocessing at the small
size's 100 Hz (preprocess_record) and the classic features with the beat table
(features.record_measures), each timed per record in this process.  The table gives the median
and 90th percentile per record and each step's ratio to reading, the reference measured in the
same run (timings vary from run to run on a shared machine; the ratios less so).  It also gives
the feature extraction's share of the three, which is what caching a corpus costs beyond
reading and filtering it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def per_record(step, items) -> np.ndarray:
    times = []
    for item in items:
        started = time.perf_counter()
        step(item)
        times.append(time.perf_counter() - started)
    return np.array(times) * 1e3


def main(argv: list[str] | None = None) -> dict:
    from ecgcinc.core.config import PreprocessConfig
    from ecgcinc.signals.features import record_measures
    from ecgcinc.signals.preprocess import preprocess_record
    from ecgcinc.io.records import find_records, read_record
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data"), parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "features.json"))
    args = parser.parse_args(argv)
    headers = find_records(args.data)[: args.records]
    records = [read_record(h) for h in headers]      # warm: the first read pays for the imports
    steps = {"read": per_record(read_record, headers),
             "preprocess (100 Hz)": per_record(lambda r: preprocess_record(r, PreprocessConfig()), records),
             "features and beat table": per_record(record_measures, records)}
    total = sum(float(np.median(t)) for t in steps.values())
    reference = float(np.median(steps["read"]))
    rows = [{"step": name, "median_ms": float(np.median(t)), "p90_ms": float(np.percentile(t, 90)),
             "vs_read": float(np.median(t)) / reference, "share": float(np.median(t)) / total}
            for name, t in steps.items()]
    print(f"{len(headers)} records of {args.data}, per record:")
    print(f"{'step':>24} {'median ms':>10} {'p90 ms':>8} {'vs read':>8} {'share':>6}")
    for row in rows:
        print(f"{row['step']:>24} {row['median_ms']:>10.2f} {row['p90_ms']:>8.2f} {row['vs_read']:>7.1f}x "
              f"{row['share']:>6.0%}")
    result = {"date": datetime.date.today().isoformat(), "data": str(args.data), "records": len(headers), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

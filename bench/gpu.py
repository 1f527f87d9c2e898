#!/usr/bin/env python
"""The GPU targets: KERAS_BACKEND=jax python -m bench.gpu [--records 200] [--out DIR]

What a GPU buys the full-size training, at the paper size (ecgcinc/configs/paper.json, the size
"auto" picks for the 88k-record corpus), batch 256, for both backbones, in float32 and in mixed
bfloat16, in one run:
  - the optimiser step alone on a fixed batch (records/s);
  - training from the cache through `fit` on the real input pipeline (memory-mapped signals,
    crops, augmentation, `--workers` loader threads), in steady state (records/s);
  - batched inference of the trained network's inference graph (records/s);
  - what one epoch of the 2021 corpus (88,253 records) takes at the measured cache rate.
The targets (docs/performance.md): >= 12,000 records/s per step, >= 5,000 records/s from the
cache, an 88k-record epoch in <= 20 s.  Prints one table and writes <out>/gpu-<backend>.json.
Runs on any backend (a CPU run is slow but checks the script), so the test suite can run it tiny.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from bench.run import ROOT, bench_training, configuration, machine, repeat, save, summary, synthetic_records
from ecgcinc.serving.inference import forward
from ecgcinc.networks.models import BACKBONES, inference_model
from ecgcinc.signals.preprocess import meta_size
from ecgcinc.training.train import compile_model

CORPUS_RECORDS = 88_253  # the 2021 training corpus
TARGETS = {"step_records_per_s": 12_000, "end_to_end_records_per_s": 5_000, "epoch_s": 20}


def bench_inference(backbone: str, batch: int, mixed_precision: bool, repeats: int) -> dict:
    """Records/s of the inference graph on a fixed batch through the driver's compiled predict
    function (untrained weights: speed does not depend on them), compilation left out."""
    cfg = configuration(backbone, "quick")
    cfg.train.mixed_precision = mixed_precision
    network = inference_model(compile_model(cfg, cfg.preprocess.window, 26, 4, 10))
    x = np.zeros((batch, cfg.preprocess.window, 12), np.float32)
    meta = np.zeros((batch, meta_size(cfg.model)), np.float32)
    return summary([batch / t for t in repeat(lambda: forward(network, x, meta, batch), repeats, warmup=2)])


def measure(records: int, batch: int, steps: int, repeats: int, workers: int, work: Path,
            backbones: list[str], precisions: list[str]) -> dict:
    data = synthetic_records(work / "data", records)
    rows = []
    for backbone in backbones:
        for mixed in (p == "bf16" for p in precisions):
            s = dict(batch=batch, steps=steps, repeats=repeats, mixed_precision=mixed, loader_workers=workers)
            started = time.perf_counter()
            row = bench_training(data, work, "quick", s, backbone)
            row["inference_records_per_s"] = bench_inference(backbone, batch, mixed, repeats)
            row["epoch_s"] = CORPUS_RECORDS / row["end_to_end_records_per_s"]["median"]
            row["wall_s"] = time.perf_counter() - started
            rows.append(row)
            print(json.dumps(row), flush=True)
    return {"machine": machine(), "records": records, "batch": batch, "loader_workers": workers,
            "corpus_records": CORPUS_RECORDS, "targets": TARGETS, "rows": rows}


def table(results: dict) -> str:
    lines = [f"{'backbone':<12} {'precision':<9} {'step rec/s':>11} {'cache rec/s':>12} {'infer rec/s':>12} "
             f"{'88k epoch s':>12} {'wall s':>7}"]
    for r in results["rows"]:
        lines.append(f"{r['backbone']:<12} {'bf16' if r['mixed_precision'] else 'fp32':<9} "
                     f"{r['step_records_per_s']['median']:>11.0f} {r['end_to_end_records_per_s']['median']:>12.0f} "
                     f"{r['inference_records_per_s']['median']:>12.0f} {r['epoch_s']:>12.1f} {r['wall_s']:>7.0f}")
    t = results["targets"]
    lines.append(f"targets: step >= {t['step_records_per_s']}, cache >= {t['end_to_end_records_per_s']}, "
                 f"epoch <= {t['epoch_s']} s (batch {results['batch']}, {results['loader_workers']} loader threads)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200, help="synthetic records cached (default 200)")
    parser.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per repeat (default 10)")
    parser.add_argument("--repeats", type=int, default=4, help="repeats (default 4)")
    parser.add_argument("--workers", type=int, default=8, help="loader threads (default 8)")
    parser.add_argument("--backbones", nargs="+", choices=BACKBONES, default=list(BACKBONES), help="default: both")
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16"), default=["fp32", "bf16"],
                        help="float32 and/or mixed bfloat16 (default: both)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for the JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ecgcinc-gpu-") as tmp:
        results = measure(args.records, args.batch, args.steps, args.repeats, args.workers, Path(tmp),
                          args.backbones, args.precisions)
    results["table"] = table(results)
    m = results["machine"]
    print(f"GPU targets, {m['date']}, {m['accelerators'] or 'no accelerator'}, {m['cores']} cores, "
          f"Keras {m['keras']} on {keras.backend.backend()}")
    print(results["table"])
    return save(results, Path(args.out), "gpu")


if __name__ == "__main__":
    main()

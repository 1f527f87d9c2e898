#!/usr/bin/env python
"""Benchmark suite: python -m bench.run [--quick | --tiny] [--out DIR]  (from the repository root)

Measures, in one run and on the same synthetic records (10-s, 500-Hz, 12-lead):
  - what ships (bench/shipped.py): driver.py with the default configuration (auto size, the
    wide features, the fusion with the feature model per lead-set view) per record, end to end
    and in parts, idle and with two busy processes on the same cores;
  - the machine's fp32 GEMM rate (numpy sgemm), the yardstick for model throughput;
  - the networks alone, at the paper size (1.56 GFLOP; no features, no fusion: an extra
    configuration, labelled so in the table), for both backbones: load_model, the first run_model call,
    run_model per record (read + preprocess + model), the model alone, batched
    throughput, driver.py's loop per record; FLOPs per record and the achieved
    fraction of the GEMM rate;
  - a reference: a plain Keras conv net of the same FLOPs called with model.predict
    per record, and this entry's own network called the same way;
  - reading a record: this entry's reader vs wfdb.rdrecord; preprocessing;
  - training throughput: the model step alone and end to end from the cache (records/s),
    on this backend and, when JAX is installed, on JAX in a subprocess;
  - the cache: build time and the speed-up of a second training start.
Every figure is the median over repeats with min and max.  Timings on shared machines
vary, so compare ratios measured in the same run.  Prints one table and writes
<out>/<size>-<backend>.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench import shipped  # noqa: E402
from ecgcinc.decision import thresholds  # noqa: E402
from ecgcinc.signals import synth  # noqa: E402
from ecgcinc.dataset.cache import open_cache  # noqa: E402
from ecgcinc.core.classes import load_classes  # noqa: E402
from ecgcinc.core.config import PAPER_CONFIG, SMALL_CONFIG, Config, config_from_dict, with_overrides  # noqa: E402
from ecgcinc.dataset.data import load_examples  # noqa: E402
from ecgcinc.networks.models import BACKBONES, build_model, ensemble_network, forward_flops, inference_model  # noqa: E402
from ecgcinc.serving.inference import forward  # noqa: E402
from ecgcinc.serving.predict import load_predictor, predict_folder  # noqa: E402
from ecgcinc.signals.preprocess import N_META, meta_size, preprocess_record  # noqa: E402
from ecgcinc.io.records import find_records, load_mat, make_record, parse_header  # noqa: E402
from ecgcinc.decision.calibration import Calibration  # noqa: E402
from ecgcinc.signals.features import record_features  # noqa: E402
from ecgcinc.serving import model_folder  # noqa: E402
from ecgcinc.decision.rule import Decision  # noqa: E402
from ecgcinc.training.train import Batches, class_targets, compile_model  # noqa: E402

SIZES = {  # records, repeats, training steps, batch size, GEMM size
    # tiny is the test suite's run (tests/test_bench.py): its shipped folder trains without the ~500
    # generated records a small folder's default adds (training/generated_mix.py), which would take
    # most of the test's time and change no timing it checks
    "tiny": dict(records=6, repeats=2, steps=2, batch=8, gemm=256, shipped_train=40, ensembles=(1, 3),
                 shipped_settings={"train": {"generated_mix": "off"}}),
    "quick": dict(records=100, repeats=5, steps=6, batch=32, gemm=1024, shipped_train=200, ensembles=(1, 3, 5)),
    "full": dict(records=500, repeats=10, steps=10, batch=32, gemm=2048, shipped_train=400, ensembles=(1, 3, 5)),
}  # ensembles: train.ensemble_folds, members averaged by run_model


def summary(samples: list[float], scale: float = 1.0) -> dict:
    values = np.asarray(samples, dtype=float) * scale
    return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max()),
            "n": len(values)}


def repeat(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def gemm_rate(n: int, repeats: int) -> dict:
    """fp32 GFLOP/s of numpy's matrix product (BLAS sgemm) on this machine, now."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    seconds = repeat(lambda: a @ b, max(repeats, 3))
    return summary([2 * n**3 / s / 1e9 for s in seconds])


def configuration(backbone: str, size: str) -> Config:
    """An extra configuration, not the default: the paper-sized network alone (ecgcinc/configs/
    paper.json: 250 Hz, 20-s window), the GPU targets' size; the tiny size uses small.json.  The
    wide branch's features and the fusion are off here; what ships, with both, is measured by
    bench/shipped.py."""
    overrides = json.loads((SMALL_CONFIG if size == "tiny" else PAPER_CONFIG).read_text())
    overrides.setdefault("model", {})["backbone"] = backbone
    overrides["model"].update(wide_features=False, fusion=False)
    return config_from_dict(overrides)


def untrained_model_folder(folder: Path, cfg: Config, num_domains: int = 4) -> Path:
    """Speed does not depend on the weights: an untrained network saved as training would."""
    classes = load_classes()
    model = compile_model(cfg, cfg.preprocess.window, len(classes), num_domains, 10)
    labels = np.eye(len(classes), dtype=bool)
    decision = Decision(Calibration.identity(len(classes)), thresholds.cicst(labels, classes.weights, 0.5))
    model_folder.save(folder, model, cfg, classes, decision, {}, labels)
    return folder


def reference_network(target_flops: float, window: int, num_classes: int) -> tuple[keras.Model, int]:
    """A plain Keras conv net (8 conv+pool stages, width chosen to match target_flops)."""
    def flops(width: int) -> int:
        total, length, channels = 0, window, 12
        for _ in range(8):
            total += 2 * length * 16 * channels * width
            channels, length = width, length // 2
        return total
    width = min(range(8, 257), key=lambda w: abs(flops(w) - target_flops))
    signal = keras.Input((window, 12))
    x = signal
    for _ in range(8):
        x = keras.layers.Conv1D(width, 16, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(signal, keras.layers.Dense(num_classes, activation="sigmoid")(x)), flops(width)


def read_ours(header: Path):
    text = header.read_text()
    parsed = parse_header(text, header.stem)
    return make_record(parsed, load_mat(header.with_suffix(".mat"), parsed.record))


def read_wfdb(header: Path):
    import wfdb
    return wfdb.rdrecord(str(header.with_suffix("")))


def per_record(fn: Callable[[Path], object], headers: list[Path]) -> list[float]:
    fn(headers[0])
    seconds = []
    for header in headers:
        start = time.perf_counter()
        fn(header)
        seconds.append(time.perf_counter() - start)
    return seconds


def bench_reading(headers: list[Path], cfg: Config) -> dict:
    records = {header: read_ours(header) for header in headers}
    return {"read_ours_ms": summary(per_record(read_ours, headers), 1e3),
            "read_wfdb_ms": summary(per_record(read_wfdb, headers), 1e3),
            "preprocess_ms": summary(per_record(lambda h: preprocess_record(records[h], cfg.preprocess), headers),
                                     1e3),
            "features_ms": summary(per_record(lambda h: record_features(records[h]), headers), 1e3)}


def bench_inference(backbone: str, size: str, data: Path, work: Path, s: dict, gemm: float) -> dict:
    cfg = configuration(backbone, size)
    folder = untrained_model_folder(work / f"model_{backbone}", cfg)
    headers = find_records(data)
    started = time.perf_counter()
    predictor = load_predictor(folder)
    load_s = time.perf_counter() - started
    first = (headers[0].read_text(), load_mat(headers[0].with_suffix(".mat"), headers[0].stem))
    started = time.perf_counter()
    predictor.run(*first)
    first_call = time.perf_counter() - started
    run_model = per_record(lambda h: predictor.run(h.read_text(), load_mat(h.with_suffix(".mat"), h.stem)), headers)
    network, window = predictor.network, cfg.preprocess.window
    one = (np.zeros((1, window, 12), np.float32), np.zeros((1, N_META), np.float32))
    batch = (np.zeros((s["batch"], window, 12), np.float32), np.zeros((s["batch"], N_META), np.float32))
    model_one = repeat(lambda: forward(network, *one), s["repeats"] * 4)
    model_batch = repeat(lambda: forward(network, *batch), s["repeats"])
    naive = repeat(lambda: network.predict(list(one), verbose=0), s["repeats"] * 2)
    timings: list[float] = []
    predict_folder(folder, data, work / f"out_{backbone}", verbose=0, timings=timings)
    flops = forward_flops(predictor.network)
    per_second = s["batch"] / np.median(model_batch)
    return {"backbone": backbone, "gflop_per_record": flops / 1e9, "load_model_s": load_s,
            "first_run_model_ms": first_call * 1e3, "run_model_ms": summary(run_model, 1e3),
            "driver_ms": summary(timings, 1e3), "model_batch1_ms": summary(model_one, 1e3),
            "model_predict_per_record_ms": summary(naive, 1e3),
            "batched_records_per_s": summary([s["batch"] / t for t in model_batch]),
            "batched_fraction_of_gemm": flops * per_second / 1e9 / gemm}


def bench_ensembles(size: str, data: Path, work: Path, s: dict) -> list[dict]:
    """run_model per record and the model alone for fold ensembles of K untrained ResNet-CWA
    members (the model folder train.ensemble_folds writes), on the same records in one run."""
    cfg = configuration("resnet_cwa", size)
    headers = find_records(data)
    classes = load_classes()
    labels = np.eye(len(classes), dtype=bool)
    decision = Decision(Calibration.identity(len(classes)), thresholds.cicst(labels, classes.weights, 0.5))
    one = (np.zeros((1, cfg.preprocess.window, 12), np.float32), np.zeros((1, N_META), np.float32))
    rows = []
    for k in s["ensembles"]:
        members = [inference_model(compile_model(cfg, cfg.preprocess.window, len(classes), 0, 10)) for _ in range(k)]
        folder = work / f"ensemble_{k}"
        model_folder.save(folder, ensemble_network(members), cfg, classes, decision, {}, labels)
        predictor = load_predictor(folder)
        run_model = per_record(lambda h: predictor.run(h.read_text(), load_mat(h.with_suffix(".mat"), h.stem)),
                               headers)
        rows.append({"members": k, "run_model_ms": summary(run_model, 1e3),
                     "model_batch1_ms": summary(repeat(lambda: forward(predictor.network, *one), s["repeats"] * 4),
                                                1e3)})
    return rows


def bench_reference(size: str, s: dict) -> dict:
    cfg = configuration("resnet_cwa", size)
    target = forward_flops(build_model(cfg.model, cfg.preprocess.window, 26, meta_size(cfg.model)))
    network, flops = reference_network(target, cfg.preprocess.window, 26)
    x = np.zeros((1, cfg.preprocess.window, 12), np.float32)
    return {"gflop_per_record": flops / 1e9,
            "model_predict_per_record_ms": summary(repeat(lambda: network.predict(x, verbose=0), s["repeats"] * 2),
                                                   1e3)}


class SteadyRate(keras.callbacks.Callback):
    """Records/s of fit between the end of its first batch and the end of its last: the input
    pipeline and the optimiser in steady state, without fit's start-up."""

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size, self.marks = batch_size, []

    def on_train_batch_end(self, batch, logs=None):
        self.marks.append(time.perf_counter())

    def rate(self) -> float:
        return self.batch_size * (len(self.marks) - 1) / (self.marks[-1] - self.marks[0])


def bench_training(data: Path, work: Path, size: str, s: dict, backbone: str = "resnet_cwa") -> dict:
    """Records/s of the optimiser step on fixed arrays, and of training from the cache (fit on
    the real input pipeline: memory-mapped signals, crops, augmentation, loader threads)."""
    cfg = configuration(backbone, size)
    cfg.train.batch_size = s["batch"]
    cfg.train.mixed_precision = s.get("mixed_precision", False)
    cfg.train.loader_workers = s.get("loader_workers", cfg.train.loader_workers)
    classes = load_classes()
    examples = load_examples(data, classes, cfg, cache_root=work / "cache_train")
    while len(examples) < s["batch"] * (s["steps"] + 1):
        examples = examples.subset(np.concatenate([np.arange(len(examples))] * 2))
    targets = class_targets(examples, classes, cfg)
    model = compile_model(cfg, cfg.preprocess.window, len(classes), len(examples.domain_names), 10)
    with_domain = "domain" in model.output_names
    batches = Batches(examples, targets, cfg, with_domain)
    (x, meta), y = batches[0]
    step = repeat(lambda: model.train_on_batch((x, meta), y), s["steps"], warmup=2)
    rates = []

    def loader() -> Batches:
        return Batches(examples, targets, cfg, with_domain, workers=cfg.train.loader_workers,
                       max_queue_size=4 * cfg.train.loader_workers)

    model.fit(loader(), epochs=1, steps_per_epoch=2, verbose=0)  # compiles fit on the measured pipeline's batches
    for _ in range(max(s["repeats"] // 2, 1)):
        meter = SteadyRate(s["batch"])
        model.fit(loader(), epochs=1, steps_per_epoch=s["steps"] + 1, callbacks=[meter], verbose=0)
        rates.append(meter.rate())
    return {"backbone": backbone, "batch": s["batch"], "mixed_precision": cfg.train.mixed_precision,
            "step_records_per_s": summary([s["batch"] / t for t in step]),
            "end_to_end_records_per_s": summary(rates)}


def bench_cache(data: Path, work: Path, size: str, s: dict) -> dict:
    cfg = configuration("resnet_cwa", size)
    classes = load_classes()
    cold, warm = [], []
    for i in range(max(s["repeats"] // 2, 1)):
        root = work / f"cache_{i}"
        start = time.perf_counter()
        load_examples(data, classes, cfg, cache_root=root)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        load_examples(data, classes, cfg, cache_root=root)
        warm.append(time.perf_counter() - start)
    entry = open_cache(data, cfg.preprocess, work / "cache_0")
    size_bytes = (entry.path / "signals.f16").stat().st_size
    return {"records": len(entry), "build_s": summary(cold), "reuse_s": summary(warm),
            "speedup": float(np.median(cold) / np.median(warm)), "bytes_per_record": size_bytes / len(entry)}


def jax_training(data: Path, size: str, extra: list[str]) -> dict | None:
    """The training benchmark again on the JAX backend, in a subprocess (one backend per process)."""
    try:
        import importlib.util
        if importlib.util.find_spec("jax") is None:
            return None
    except ImportError:
        return None
    command = [sys.executable, "-m", "bench.run", f"--{size}", "--part", "training", "--data", str(data), *extra]
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = ""
    if Path("/proc/cpuinfo").is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    accelerators = []
    if keras.backend.backend() == "jax":
        import jax
        accelerators = [str(d) for d in jax.devices() if d.platform != "cpu"]
    return {"date": datetime.date.today().isoformat(), "cpu": cpu, "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(), "backend": keras.backend.backend(),
            "keras": keras.__version__, "numpy": np.__version__, "accelerators": accelerators}


def _range(entry: dict, fmt: str = "{:.1f}") -> tuple[str, str]:
    return fmt.format(entry["median"]), f"{fmt.format(entry['min'])}-{fmt.format(entry['max'])}"


def table(results: dict) -> str:
    rows: list[tuple[str, str, str, str]] = []
    gemm = results["gemm_gflops"]
    rows.append(("numpy sgemm (GFLOP/s)", *_range(gemm), "yardstick"))
    reference = results["reference"]["model_predict_per_record_ms"]
    for item in results["inference"]:
        name = f"{item['backbone']} alone, paper size" if results["size"] != "tiny" else f"{item['backbone']} alone"
        rows.append((f"{name}: GFLOP per 20-s record", f"{item['gflop_per_record']:.2f}", "", ""))
        rows.append((f"{name}: load_model (s)", f"{item['load_model_s']:.2f}", "", "includes compiling"))
        rows.append((f"{name}: first run_model after load (ms)", f"{item['first_run_model_ms']:.1f}", "", ""))
        rows.append((f"{name}: run_model per record (ms)", *_range(item["run_model_ms"]),
                     "read+preprocess+model"))
        rows.append((f"{name}: driver.py loop per record (ms)", *_range(item["driver_ms"]), "incl. output file"))
        rows.append((f"{name}: model, 1 record (ms)", *_range(item["model_batch1_ms"]),
                     f"{reference['median'] / item['model_batch1_ms']['median']:.1f}x faster than reference"))
        rows.append((f"{name}: model.predict per record (ms)", *_range(item["model_predict_per_record_ms"]),
                     "the slow path, for contrast"))
        rows.append((f"{name}: batched (records/s)", *_range(item["batched_records_per_s"], "{:.0f}"),
                     f"{100 * item['batched_fraction_of_gemm']:.0f}% of sgemm rate"))
    single = results["ensembles"][0]["run_model_ms"]["median"]
    for item in results["ensembles"]:
        rows.append((f"resnet_cwa fold ensemble of {item['members']}: run_model per record (ms)",
                     *_range(item["run_model_ms"]), f"{item['run_model_ms']['median'] / single:.2f}x one network"))
        rows.append((f"resnet_cwa fold ensemble of {item['members']}: model, 1 record (ms)",
                     *_range(item["model_batch1_ms"]), ""))
    rows.append((f"reference Keras conv net, {results['reference']['gflop_per_record']:.2f} GFLOP: "
                 "model.predict per record (ms)", *_range(reference), "reference"))
    reading = results["reading"]
    rows.append(("read record: this entry (ms)", *_range(reading["read_ours_ms"], "{:.2f}"),
                 f"{reading['read_wfdb_ms']['median'] / reading['read_ours_ms']['median']:.1f}x faster than wfdb"))
    rows.append(("read record: wfdb.rdrecord (ms)", *_range(reading["read_wfdb_ms"], "{:.2f}"), "reference"))
    rows.append(("preprocess record (ms)", *_range(reading["preprocess_ms"], "{:.2f}"), ""))
    rows.append(("classic features of a record, wide branch (ms)", *_range(reading["features_ms"], "{:.2f}"),
                 "added to run_model when model.wide_features"))
    for name, item in results["training"].items():
        if not item or "error" in item:
            rows.append((f"training on {name}", "-", "", (item or {}).get("error", "JAX not installed")))
            continue
        precision = ", mixed bf16" if item.get("mixed_precision") else ""
        rows.append((f"training step, {name}, batch {item['batch']}{precision} (records/s)",
                     *_range(item["step_records_per_s"]), item["backbone"]))
        rows.append((f"training from cache, {name} (records/s)", *_range(item["end_to_end_records_per_s"]),
                     "fit on the real input pipeline"))
    c = results["cache"]
    rows.append((f"cache build, {c['records']} records (s)", *_range(c["build_s"], "{:.2f}"),
                 f"{c['bytes_per_record'] / 1e3:.0f} kB per record"))
    rows.append(("second training start: cache reuse (s)", *_range(c["reuse_s"], "{:.3f}"),
                 f"{c['speedup']:.0f}x faster start"))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure':<{width}}  {'median':>9}  {'min-max':>15}  notes", "-" * (width + 40)]
    lines += [f"{r[0]:<{width}}  {r[1]:>9}  {r[2]:>15}  {r[3]}" for r in rows]
    return results["shipped"]["table"] + "\n\n" + "\n".join(lines)


def synthetic_records(folder: Path, n: int) -> Path:
    """10-s, 500-Hz records (source XA), the case the speed targets are stated for."""
    synth.write_dataset(folder, n, seed=7, sources=["XA"])
    return folder


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="about 5 minutes on 2 cores")
    group.add_argument("--tiny", action="store_true", help="seconds; what the test suite runs")
    group.add_argument("--full", action="store_true", help="500 records, more repeats")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--no-jax", action="store_true", help="skip the JAX training subprocess")
    parser.add_argument("--batch", type=int, help="training batch size (default 32; 256 on a GPU)")
    parser.add_argument("--mixed-precision", action="store_true", help="train in mixed bfloat16 (GPU)")
    parser.add_argument("--part", choices=["all", "training"], default="all", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = "tiny" if args.tiny else "full" if args.full else "quick"
    s = dict(SIZES[size], mixed_precision=args.mixed_precision)
    if args.batch:
        s["batch"] = args.batch
    extra = (["--batch", str(s["batch"])] if args.batch else []) + (["--mixed-precision"] if args.mixed_precision
                                                                   else [])
    with tempfile.TemporaryDirectory(prefix="ecgcinc-bench-") as tmp:
        work = Path(tmp)
        if args.part == "training":
            print(json.dumps(bench_training(Path(args.data), work, size, s)))
            return {}
        shipped_result = shipped.measure(s["shipped_train"], s["records"], 2, work / "shipped",
                                         with_overrides(Config(), s.get("shipped_settings", {})))
        shipped_result["table"] = shipped.table(shipped_result)
        data = synthetic_records(work / "data", s["records"])
        gemm = gemm_rate(s["gemm"], s["repeats"])
        results = {"size": size, "machine": machine(), "records": s["records"], "shipped": shipped_result,
                   "gemm_gflops": gemm,
                   "reading": bench_reading(find_records(data), configuration("resnet_cwa", size)),
                   "inference": [bench_inference(b, size, data, work, s, gemm["median"]) for b in BACKBONES],
                   "ensembles": bench_ensembles(size, data, work, s),
                   "reference": bench_reference(size, s),
                   "training": {keras.backend.backend(): bench_training(data, work, size, s)},
                   "cache": bench_cache(data, work, size, s)}
        if keras.backend.backend() != "jax" and not args.no_jax:
            results["training"]["jax"] = jax_training(data, size, extra)
    text = table(results)
    results["table"] = text
    print(f"{size} benchmark, {results['machine']['date']}, {results['machine']['cpu']}, "
          f"{results['machine']['cores']} cores, Keras {results['machine']['keras']} on {keras.backend.backend()}")
    print(text)
    return save(results, Path(args.out), size)


def save(results: dict, out: Path, name: str) -> dict:
    """Write <out>/<name>-<backend>.json and return the results."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}-{keras.backend.backend()}.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

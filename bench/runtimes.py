#!/usr/bin/env python
"""The two inference runtimes, measured in one run: Keras (TensorFlow) and ONNX (onnxruntime).

    python -m bench.runtimes --inference-python .venv-inference/bin/python [--train N] [--test N]

The inference environment is requirements-inference.txt alone, as .ci/run builds it:

    python3 -m venv .venv-inference
    .venv-inference/bin/python -m pip install -r requirements-inference.txt -c requirements.lock

A model folder of the shipped default (bench/shipped.py: `Config()`, 2 epochs on N synthetic
records; speed does not depend on the weights) is trained in this environment and exported
(`ecgcinc export`).  Then, on the same synthetic test records:
  - `ecgcinc classify` per record, each runtime in its own environment: the wall time of
    classifying all test records and of one, so the per-record time leaves start-up out
    ((all - one) / (N - 1)) and start-up is (one - per record);
  - the rows' largest probability difference between the runtimes;
  - install size: the files of every distribution that each environment's requirements file
    pulls in (its dependency closure from the installed metadata), in MB.
Timings vary from run to run on a shared machine: compare the ratios of one run.  Prints a table
and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run by each environment's own Python: the dependency closure of a requirements file among the
# installed distributions, and the bytes of their files.
_CLOSURE = r"""
import json, re, sys
from importlib.metadata import PackageNotFoundError, distribution
from packaging.requirements import Requirement
def norm(n): return re.sub(r"[-_.]+", "-", n).lower()
todo = [Requirement(l.split("#")[0].strip()) for l in open(sys.argv[1]) if l.split("#")[0].strip()
        and not l.startswith("-r")]
todo = [r for r in todo if r.marker is None or r.marker.evaluate()]
seen, size = set(), 0
while todo:
    r = todo.pop()
    if norm(r.name) in seen: continue
    try: d = distribution(r.name)
    except PackageNotFoundError: continue
    seen.add(norm(r.name))
    size += sum((f.size or 0) for f in (d.files or []))
    for text in d.requires or []:
        q = Requirement(text)
        if q.marker is None or q.marker.evaluate({"extra": ""}): todo.append(q)
print(json.dumps({"distributions": len(seen), "mb": size / 1e6}))
"""


def install_size(python: str, requirements: Path) -> dict:
    done = subprocess.run([python, "-c", _CLOSURE, str(requirements)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def classify_seconds(python: str, model: Path, inputs: list[Path], out: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([python, "-m", "ecgcinc", "classify", str(model), *map(str, inputs), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"classify failed: {done.stderr.strip()[-800:]}")
    return time.perf_counter() - started


def per_record(python: str, model: Path, headers: list[Path], out: Path) -> dict:
    """Seconds for all records and for one (median of three), per-record and start-up in ms."""
    one = sorted(classify_seconds(python, model, headers[:1], out) for _ in range(3))[1]
    every = classify_seconds(python, model, headers, out)
    record_ms = 1e3 * (every - one) / (len(headers) - 1)
    return {"records": len(headers), "all_s": every, "one_s": one, "per_record_ms": record_ms,
            "startup_ms": 1e3 * one - record_ms}


def _probabilities(path: Path) -> dict[str, list[float]]:
    return {row["record"]: [c["probability"] for c in row["classes"]]
            for row in map(json.loads, path.read_text().splitlines())}


def measure(train_records: int, test_records: int, inference_python: str, work: Path) -> dict:
    from bench.shipped import train_default
    from ecgcinc.signals import synth
    from ecgcinc.serving.export import export
    from ecgcinc.io.records import find_records
    synth.write_dataset(work / "train", train_records, seed=21)
    synth.write_dataset(work / "test", test_records, seed=7, sources=["XA"])
    trained = train_default(work / "train", work / "model")
    export(work / "model", work / "exported")
    headers = find_records(work / "test")
    keras_run = per_record(sys.executable, work / "model", headers, work / "keras.jsonl")
    onnx_run = per_record(inference_python, work / "exported", headers, work / "onnx.jsonl")
    keras_p, onnx_p = _probabilities(work / "keras.jsonl"), _probabilities(work / "onnx.jsonl")
    difference = max(abs(a - b) for name in keras_p for a, b in zip(keras_p[name], onnx_p[name]))
    return {"configuration": f"shipped default (Config(), size auto -> {trained['size']}), trained "
                             f"{trained['epochs']} epochs, exported",
            "keras": {**keras_run, "install": install_size(sys.executable, ROOT / "requirements.txt")},
            "onnx": {**onnx_run, "install": install_size(inference_python, ROOT / "requirements-inference.txt")},
            "max_probability_difference": difference}


def table(result: dict) -> str:
    k, o = result["keras"], result["onnx"]
    rows = [("classify per record (ms)", k["per_record_ms"], o["per_record_ms"], ".1f"),
            ("classify start-up and model loading (ms)", k["startup_ms"], o["startup_ms"], ".0f"),
            (f"classify {k['records']} records, whole command (s)", k["all_s"], o["all_s"], ".1f"),
            ("install size, requirements' closure (MB)", k["install"]["mb"], o["install"]["mb"], ".0f"),
            ("distributions installed", k["install"]["distributions"], o["install"]["distributions"], "d")]
    width = max(len(r[0]) for r in rows)
    lines = [result["configuration"],
             f"{'measure':<{width}}  {'keras':>9}  {'onnx':>9}  {'onnx/keras':>10}", "-" * (width + 36)]
    lines += [f"{name:<{width}}  {a:>9{fmt}}  {b:>9{fmt}}  {b / a:>10.2f}" for name, a, b, fmt in rows]
    lines.append(f"largest probability difference between the runtimes: {result['max_probability_difference']:.1e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inference-python", required=True,
                        help="the Python of an environment with requirements-inference.txt alone")
    parser.add_argument("--train", type=int, default=200, help="training records (default %(default)s)")
    parser.add_argument("--test", type=int, default=100, help="test records (default %(default)s)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "runtimes.json"))
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bench.shipped import publish
    with tempfile.TemporaryDirectory(prefix="ecgcinc-runtimes-") as tmp:
        result = measure(args.train, args.test, args.inference_python, Path(tmp))
    return publish(result, table, Path(args.out))


if __name__ == "__main__":
    main()

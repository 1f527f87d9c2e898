"""How well the beat-timing measures match the generator's known answer (docs/design.md).

    python -m scripts.beat_truth [--records 400] [--seed 7] [--json runs/beat/truth.json]

Generates records of the four synthetic sources (nothing is written to disk), measures each with
ecgcinc.signals.features.record_measures and the beat sequence, and compares with the parameters that
produced it: R-peak detection against the beat times and kinds, premature-beat flags, PR and QT
against the patient's PR and QTc x sqrt(RR), and the single-feature AUROC of the measures that
define premature atrial contraction, sinus arrhythmia, long QT and 1st-degree AV block against the
true labels (not the written ones: this is about measurement).  Prints a table, writes JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ecgcinc.signals import synth
from ecgcinc.signals.features import FEATURE_NAMES, record_beats, record_measures
from ecgcinc.core.metrics import class_auc
from ecgcinc.io.records import make_record, parse_header

INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
MATCH_S = 0.05
UNDELINEABLE = {"AF", "AFL", "PR", "TAb", "CRBBB", "CLBBB"}   # no P wave, or no clean T end / QRS onset


def measure(count: int, seed: int) -> dict:
    beats = {"sinus": [0, 0], "pac": [0, 0], "pvc": [0, 0]}     # kind -> [detected, total]
    flagged = {"sinus": [0, 0], "pac": [0, 0], "pvc": [0, 0]}   # kind -> [flagged ectopic, matched]
    pr_error, qt_error, rows = [], [], []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(count)):
        prefix = list(synth.SOURCES)[i % len(synth.SOURCES)]
        generated = synth.generate_record(synth.SOURCES[prefix], f"{prefix}00001", np.random.default_rng(child))
        record = make_record(parse_header(generated.header_text()), generated.adc)
        features, _ = record_measures(record)
        patient, labels = generated.patient, generated.patient.labels
        rows.append((labels, features))
        if labels & {"PR"}:
            continue
        sequence = record_beats(record)
        truth, kinds = np.array(generated.beat_times), np.array(generated.beat_kinds)
        for t, kind in zip(truth, kinds):
            if kind in beats:
                beats[kind][1] += 1
                beats[kind][0] += bool(len(sequence)) and np.min(np.abs(sequence.times - t)) < MATCH_S
        for k, t in enumerate(sequence.times):
            j = int(np.argmin(np.abs(truth - t)))
            if abs(truth[j] - t) < MATCH_S and kinds[j] in flagged and np.isfinite(sequence.rr_before[k]):
                flagged[kinds[j]][0] += bool(sequence.ectopic[k])
                flagged[kinds[j]][1] += 1
        if not labels & UNDELINEABLE and not labels & {"PAC", "PVC"}:
            pr_error.append(features[INDEX["pr_interval"]] - patient.pr_s)
            qt_error.append(features[INDEX["qt_interval"]] - patient.qtc_s * np.sqrt(features[INDEX["rr_mean"]]))
    return {"records": count, "seed": seed,
            "detected": {k: v[0] / max(v[1], 1) for k, v in beats.items()},
            "beats": {k: v[1] for k, v in beats.items()},
            "flagged_ectopic": {k: v[0] / max(v[1], 1) for k, v in flagged.items()},
            "pr_error_ms": _spread(pr_error), "qt_error_ms": _spread(qt_error),
            "auroc": _separation(rows)}


def _spread(errors: list[float]) -> dict:
    e = np.array(errors, dtype=float)
    e = e[np.isfinite(e)] * 1000
    return {"n": int(e.size), "median": float(np.median(e)), "iqr": float(np.subtract(*np.percentile(e, [75, 25]))),
            "p90_abs": float(np.percentile(np.abs(e), 90))}


def _separation(rows: list) -> dict:
    """Single-feature AUROC against the true label, among the records where the feature is
    meant to work (sinus rhythm for PR, premature and respiratory measures)."""
    sinus = np.array([not labels & {"AF", "AFL", "PR"} for labels, _ in rows])
    out = {}
    for label, feature, where in (("PAC", "atrial_ectopic_fraction", sinus), ("PVC", "ventricular_ectopic_fraction",
                                  sinus), ("SA", "resp_rr_share", sinus), ("SA", "sinus_rr_cv", sinus),
                                  ("IAVB", "pr_interval", sinus), ("LQT", "qtc", np.ones(len(rows), bool))):
        y = np.array([label in labels for labels, _ in rows])
        x = np.array([f[INDEX[feature]] for _, f in rows])
        keep = where & np.isfinite(x)
        out[f"{label} by {feature}"] = {"auroc": class_auc(y[keep], x[keep])[0], "positives": int(y[keep].sum())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=400), parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default="runs/beat/truth.json")
    args = parser.parse_args()
    result = measure(args.records, args.seed)
    print(f"{args.records} generated records (seed {args.seed})")
    for kind in ("sinus", "pac", "pvc"):
        print(f"  {kind:5s} beats {result['beats'][kind]:5d}: detected {result['detected'][kind]:.1%}, "
              f"flagged ectopic {result['flagged_ectopic'][kind]:.1%}")
    for name in ("pr_error_ms", "qt_error_ms"):
        e = result[name]
        print(f"  {name[:2].upper()} error (ms, {e['n']} records): median {e['median']:+.0f}, IQR {e['iqr']:.0f}, "
              f"90th percentile of |error| {e['p90_abs']:.0f}")
    for name, value in result["auroc"].items():
        print(f"  {name}: AUROC {value['auroc']:.3f} ({value['positives']} true positives)")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Does the PVC class's attention point at the premature beats?

python -m scripts.pvc_attention MODEL [--n 400] [--seed 77] [--out FILE.json]

Draws fresh synthetic records (never seen in training: their own seed) until --n of
them contain at least one premature ventricular beat, whose QRS times the generator
knows.  For each, the PVC class's attention (explain.class_attention, the same map
`python -m ecgcinc explain` draws) is taken at its maximum, and the record counts as
a hit when that peak lies within 200 ms of a premature beat.  Chance level is the
share of the record's time within 200 ms of one, i.e. the hit rate of a peak placed
at random.  Reported for all such records and for those the model decided PVC-positive.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ecgcinc.signals import synth  # noqa: E402
from ecgcinc.serving.explain import class_attention  # noqa: E402
from ecgcinc.serving.predict import load_predictor  # noqa: E402
from ecgcinc.io.records import make_record, parse_header  # noqa: E402
from ecgcinc.decision.thresholds import decide  # noqa: E402

PVC = "427172004"
TOLERANCE_S = 0.2


def records_with_pvcs(n: int, seed: int):
    """Synthetic records (all sources in turn) that contain at least one premature ventricular beat."""
    sources = list(synth.SOURCES)
    streams = np.random.SeedSequence(seed).spawn(50 * n)
    found = 0
    for i, stream in enumerate(streams):
        source = synth.SOURCES[sources[i % len(sources)]]
        generated = synth.generate_record(source, f"PV{i + 1:05d}", np.random.default_rng(stream))
        if "pvc" in generated.beat_kinds:
            yield generated
            found += 1
            if found == n:
                return


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model"), parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=77), parser.add_argument("--out")
    args = parser.parse_args(argv)
    predictor = load_predictor(args.model)
    k = predictor.classes.index(PVC)
    fs = predictor.cfg.preprocess.fs
    hits, chance, positive = [], [], []
    for generated in records_with_pvcs(args.n, args.seed):
        record = make_record(parse_header(generated.header_text()), generated.adc)
        attention = class_attention(predictor, record)[:, k]
        peak = np.argmax(attention) / fs
        pvcs = np.array([t for t, kind in zip(generated.beat_times, generated.beat_kinds) if kind == "pvc"])
        hits.append(bool(np.min(np.abs(pvcs - peak)) <= TOLERANCE_S))
        grid = np.arange(len(attention)) / fs
        chance.append(float(np.mean(np.min(np.abs(grid[:, None] - pvcs[None, :]), axis=1) <= TOLERANCE_S)))
        probabilities = predictor.probabilities([record])
        positive.append(bool(decide(probabilities, predictor.thresholds, predictor.classes,
                                    predictor.cfg.thresholds)[0, k]))
    hits, chance, positive = np.array(hits), np.array(chance), np.array(positive)
    result = {"model": str(args.model), "records": int(len(hits)), "seed": args.seed, "tolerance_s": TOLERANCE_S,
              "hit_rate": float(hits.mean()), "chance_rate": float(chance.mean()),
              "decided_pvc": int(positive.sum()),
              "hit_rate_decided_pvc": float(hits[positive].mean()) if positive.any() else None,
              "chance_rate_decided_pvc": float(chance[positive].mean()) if positive.any() else None}
    print(f"{result['records']} held-out synthetic records with premature ventricular beats: the PVC attention "
          f"peak lies within {int(TOLERANCE_S * 1000)} ms of one in {100 * result['hit_rate']:.1f}% "
          f"(chance {100 * result['chance_rate']:.1f}%)")
    if positive.any():
        print(f"of the {result['decided_pvc']} decided PVC-positive: {100 * result['hit_rate_decided_pvc']:.1f}% "
              f"(chance {100 * result['chance_rate_decided_pvc']:.1f}%)")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

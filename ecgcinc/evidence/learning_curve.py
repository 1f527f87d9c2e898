"""The data-scale curve: challenge metric against the number of training records, per network size.

Why: which size ("small", "medium", "paper") to train depends on how much data there is, and
the "auto" rule of sizes.py must rest on a measurement, not on taste.  Each point trains every
size (and the feature baseline, the yardstick) on the same random subset of N records of one
folder, with the same seeds, and scores them on one unseen folder, so the sizes' difference at
each N is paired (same test records, same seeds) and gets a 95 % interval (evidence.py).

Units are the holdout experiment's (experiments.run_arms): resumable, one folder each under
<out>/n<N>/; the curve writes <out>/curve.json, <out>/curve.md and <out>/curve.png.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..core.config import AUTO, SIZE_PRESETS, with_overrides
from .arms import Unit, compare_units, mean_sd
from .experiments import BASELINE, base_config, open_study, run_arms
from ..io.outputs import atomic_write_text


def size_arm(size: str) -> str:
    return f"{size} size"


def curve_point(data_dir: str | Path, test_dir: str | Path, out_dir: Path, records: int, sizes: list[str],
                seeds: int, verbose: int = 1) -> dict[str, Any]:
    """Every size and the baseline trained on `records` records of data_dir (a random subset drawn
    with the configuration's seed), scored on test_dir; the first size is the reference."""
    cfg = with_overrides(base_config(False), {"model": {"size": sizes[0]}})
    study = open_study(data_dir, out_dir / f"n{records}", cfg, folds=1, max_records=records, verbose=verbose,
                       seeds=seeds, test_dir=test_dir)
    arms = {BASELINE: {}, **{size_arm(size): {"model": {"size": size}} for size in sizes}}
    results: dict[str, list[Unit]] = run_arms(study, "holdout", arms, [("holdout", study.examples, study.test)])
    reference = results[size_arm(sizes[0])]
    point: dict[str, Any] = {"records": len(study.examples), "test_records": len(study.test), "arms": {}}
    for arm, units in results.items():
        challenge = [u.scores["challenge"] for u in units]
        entry = {"challenge": challenge, "auroc": [u.scores["auroc"] for u in units],
                 "mean": float(np.mean(challenge)), "sd": float(np.std(challenge, ddof=1)) if len(units) > 1 else 0.0}
        if arm != size_arm(sizes[0]):
            comparison = compare_units(study.classes, reference, units)
            entry["delta_vs_reference"] = {"estimate": comparison.difference, "low": comparison.low,
                                           "high": comparison.high, "verdict": comparison.verdict}
        point["arms"][arm] = entry
    return point


def crossing(points: list[dict[str, Any]], arm: str) -> int | None:
    """The smallest N from which `arm` stays ahead of the reference size on the mean (None: never)."""
    ahead = [p["arms"][arm]["delta_vs_reference"]["estimate"] > 0 for p in points]
    for i in range(len(points)):
        if all(ahead[i:]):
            return int(points[i]["records"])
    return None


def markdown(points: list[dict[str, Any]], sizes: list[str], seeds: int) -> str:
    lines = ["| training records | arm | challenge (mean ± sd) | AUROC | Δ challenge vs " + f"{size_arm(sizes[0])} [95 % CI] | verdict |",
             "|---|---|---|---|---|---|"]
    for p in points:
        for arm, e in p["arms"].items():
            d = e.get("delta_vs_reference")
            delta = f"{d['estimate']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]" if d else "(reference)"
            lines.append(f"| {p['records']} | {arm} | {mean_sd(e['challenge'])} | {mean_sd(e['auroc'])} | {delta} | "
                         f"{d['verdict'] if d else ''} |")
    notes = [f"{seeds} seed(s) per point; each point trains on a random subset of the folder, tests on "
             f"{points[0]['test_records']} unseen records; intervals: paired bootstrap over seeds and test records."]
    for size in sizes[1:]:
        n = crossing(points, size_arm(size))
        notes.append(f"{size_arm(size)} ahead of {size_arm(sizes[0])} on the mean from N = {n} on."
                     if n else f"{size_arm(size)} not ahead of {size_arm(sizes[0])} on the mean at every N from "
                               f"some N on, within the measured range (up to {points[-1]['records']} records).")
    return "\n".join(lines) + "\n\n" + " ".join(notes) + "\n"


def plot(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(6, 4))
    for arm in points[0]["arms"]:
        n = [p["records"] for p in points]
        axis.errorbar(n, [p["arms"][arm]["mean"] for p in points], yerr=[p["arms"][arm]["sd"] for p in points],
                      marker="o", capsize=3, label=arm)
    axis.set_xscale("log")
    axis.set_xticks([p["records"] for p in points], [f"{p['records']:,}" for p in points])
    axis.minorticks_off()
    axis.set_xlabel("training records")
    axis.set_ylabel("challenge metric on unseen records")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run_curve(data_dir: str | Path, test_dir: str | Path, out_dir: str | Path, records: list[int],
              sizes: list[str], seeds: int = 2, verbose: int = 1) -> str:
    """Every point of the curve (resumable), then the table, the JSON and the plot."""
    unknown = [s for s in sizes if s not in SIZE_PRESETS or s == AUTO]
    if unknown or not sizes:
        raise ValueError(f"sizes {unknown or sizes}: choose from {', '.join(SIZE_PRESETS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    points = [curve_point(data_dir, test_dir, out, n, sizes, seeds, verbose) for n in sorted(records)]
    text = markdown(points, sizes, seeds)
    atomic_write_text(out / "curve.json", json.dumps({"sizes": sizes, "seeds": seeds, "points": points}, indent=2))
    atomic_write_text(out / "curve.md", text)
    plot(points, out / "curve.png")
    return text

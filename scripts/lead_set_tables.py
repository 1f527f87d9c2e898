#!/usr/bin/env python
"""The per-class AUROC of every lead set in one table, from a holdout run with --lead-sets.

    python -m scripts.lead_set_tables TABLES [--arm ARM]

TABLES is an experiment's output folder (holdout_classes.csv, holdout_classes_<set>.csv); prints
a Markdown table with one row per class and one column per lead set (the arm's AUROC, mean ± sd
over seeds), the rows that docs/results.md shows for "every lead set".
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

SETS = [("12 leads", "holdout_classes.csv"), ("6 leads", "holdout_classes_6-leads.csv"),
        ("4 leads", "holdout_classes_4-leads.csv"), ("3 leads", "holdout_classes_3-leads.csv"),
        ("2 leads", "holdout_classes_2-leads.csv"), ("I alone", "holdout_classes_i-alone.csv"),
        ("II alone", "holdout_classes_ii-alone.csv")]


def _mean(cell: str) -> str:
    return cell.split(" ± ")[0]


def table(folder: Path, arm: str) -> str:
    columns, rows = [], {}
    for name, file in SETS:
        path = folder / file
        if not path.is_file():
            continue
        columns.append(name)
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows.setdefault((row["class"], row["positives"]), []).append(_mean(row[arm]))
    lines = ["| class | positives | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 2)]
    escaped = {c: c.replace("|", "\\|") for c, _ in rows}   # a class of equivalent codes holds a '|'
    lines += [f"| {escaped[c]} | {p} | " + " | ".join(values) + " |" for (c, p), values in rows.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", help="a holdout experiment's output folder")
    parser.add_argument("--arm", default="network (configured)", help="the arm's column (default: %(default)s)")
    args = parser.parse_args(argv)
    text = table(Path(args.tables), args.arm)
    print(text)
    return text


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""python evaluate_model.py LABELS OUTPUTS [scores.csv [class_scores.csv]]

Same usage, output files and importable evaluate_model() as the official
evaluation-2021 script; reads both header styles (`#Dx:` and `# Dx:`).
"""
import sys

from ecgcinc.cli import run_cli
from ecgcinc.evidence.evaluation import evaluate_folders, evaluate_model, format_class_scores, format_scores

__all__ = ['evaluate_model']

def main() -> None:
    classes, scores = evaluate_folders(sys.argv[1], sys.argv[2])
    if len(sys.argv) == 3:
        print(format_scores(scores))
    if len(sys.argv) >= 4:
        with open(sys.argv[3], 'w') as f:
            f.write(format_scores(scores))
    if len(sys.argv) == 5:
        with open(sys.argv[4], 'w') as f:
            f.write(format_class_scores(classes, scores))


if __name__ == '__main__':
    if len(sys.argv) not in (3, 4, 5):
        raise SystemExit('Usage: python evaluate_model.py labels outputs [scores.csv [class_scores.csv]]')
    sys.exit(run_cli(main))

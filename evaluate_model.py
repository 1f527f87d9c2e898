#!/usr/bin/env python
"""python evaluate_model.py LABELS OUTPUTS [scores.csv [class_scores.csv]] [--weights FILE]

Same usage, output files and importable evaluate_model() as the official
evaluation-2021 script, which scores with the weights.csv of the folder it runs
in: so does this one (without such a file, the package's copy of the official
file, and it says so; --weights names another).  Reads both header styles
(`#Dx:` and `# Dx:`) and prints the scores.
"""
import argparse
import sys

from ecgcinc.cli import run_cli
from ecgcinc.evidence.evaluation import (evaluate_folders, evaluate_model, format_class_scores, format_scores,
                                         harness_weights)

__all__ = ['evaluate_model']


def parse(argv):
    parser = argparse.ArgumentParser(description='Score a folder of Challenge outputs against labelled headers.')
    parser.add_argument('labels'), parser.add_argument('outputs')
    parser.add_argument('scores', nargs='?'), parser.add_argument('class_scores', nargs='?')
    parser.add_argument('--weights', help='a weights.csv (default: the one in the working folder)')
    return parser.parse_args(argv)


def main() -> None:
    args = parse(sys.argv[1:])
    weights, note = harness_weights(args.weights)
    classes, scores = evaluate_folders(args.labels, args.outputs, weights)
    print(format_scores(scores))
    print(note)
    if args.scores:
        with open(args.scores, 'w') as f:
            f.write(format_scores(scores))
    if args.class_scores:
        with open(args.class_scores, 'w') as f:
            f.write(format_class_scores(classes, scores))


if __name__ == '__main__':
    sys.exit(run_cli(main))

#!/usr/bin/env python
"""python train_model.py DATA MODEL: train on a Challenge folder (same usage as the official script)."""
import sys

from ecgcinc.cli import run_cli


def main() -> None:
    from team_code import training_code  # after the usage check: Keras loads here
    training_code(sys.argv[1], sys.argv[2])
    print(f'Done: the model folder is {sys.argv[2]} (python driver.py {sys.argv[2]} TEST_DATA OUTPUTS runs it).')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        raise SystemExit('Usage: python train_model.py data_folder model_folder')
    sys.exit(run_cli(main))

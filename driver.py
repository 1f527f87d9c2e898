#!/usr/bin/env python
"""python driver.py MODEL DATA OUTPUTS: one Challenge output file per record.

Same arguments and output files as the official test_model.py, through the same
team_code functions; a record that cannot be read is reported on stderr and
gets an empty output file, and the run continues.
"""
import sys

from ecgcinc.cli import run_cli
from ecgcinc.predict import predict_folder
from team_code import load_model, run_model


def main() -> None:
    failures = predict_folder(sys.argv[1], sys.argv[2], sys.argv[3], load_model=load_model, run_model=run_model)
    print(f'Done ({failures} record(s) failed).' if failures else 'Done.')


if __name__ == '__main__':
    if len(sys.argv) != 4:
        raise SystemExit('Usage: python driver.py model_folder data_folder output_folder')
    sys.exit(run_cli(main))

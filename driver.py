#!/usr/bin/env python
"""python driver.py MODEL DATA OUTPUTS: one Challenge output file per record.

Same arguments and output files as the official test_model.py, through the same
team_code functions; a record that cannot be read or scored is reported on
stderr and gets an empty output file, and the run continues.  Exit status: 0
when every record was scored, 1 when some failed (each has its error line and
its empty output), 2 when the run could not start (a missing folder, a folder
without records, a model folder that cannot be loaded).
"""
import sys

from ecgcinc.cli import FAILED_RECORDS_STATUS, run_cli


def main() -> int:
    from ecgcinc.io.records import require_records
    from ecgcinc.serving.model_folder import check
    check(sys.argv[1])  # a missing or foreign model folder is one line before Keras loads
    require_records(sys.argv[2])  # so is a data folder without records
    from ecgcinc.serving.predict import predict_folder  # Keras loads here
    from team_code import load_model, run_model
    failures = predict_folder(sys.argv[1], sys.argv[2], sys.argv[3], load_model=load_model, run_model=run_model)
    print(f'Done: outputs in {sys.argv[3]}' + (f' ({failures} record(s) failed).' if failures else '.'))
    return FAILED_RECORDS_STATUS if failures else 0


if __name__ == '__main__':
    if len(sys.argv) != 4:
        raise SystemExit('Usage: python driver.py model_folder data_folder output_folder')
    sys.exit(run_cli(main))

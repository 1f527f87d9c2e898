"""Command-line behaviour users expect: a missing or invalid folder is one line on stderr and
exit status 2 (no traceback), the model folder is checked before any record is read, and the
framework's start-up log lines do not bury the project's own messages."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecgcinc.serving.ready import READY_MODEL

ROOT = Path(__file__).resolve().parents[1]


# Runs a script or `-m module` with the frameworks made unimportable: a command that imports
# Keras before it has checked its folders fails with a traceback instead of its one line.
WITHOUT_FRAMEWORKS = """import runpy, sys
sys.modules.update(keras=None, tensorflow=None, jax=None)
args = sys.argv[1:]
if args[0] == "-m":
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
"""


def _run(*args: str, frameworks: bool = True) -> subprocess.CompletedProcess:
    """As a user would run it: no TensorFlow log settings of the test session in its environment;
    without `frameworks`, Keras, TensorFlow and JAX cannot be imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ECGCINC_FRAMEWORK_LOGS")}
    launcher = [] if frameworks else ["-c", WITHOUT_FRAMEWORKS]
    return subprocess.run([sys.executable, *launcher, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.mark.parametrize("command, expected", [
    (["driver.py", "{missing}", "{data}", "{out}"], "model folder {missing} does not exist"),
    (["driver.py", "{empty}", "{data}", "{out}"], "lacks model.keras"),
    (["-m", "ecgcinc", "predict", "{missing}", "{data}", "{out}"], "model folder {missing} does not exist"),
    (["train_model.py", "{missing}", "{out}"], "data folder {missing} does not exist"),
    (["train_model.py", "{empty}", "{out}"], "data folder {empty} holds no record"),
    (["driver.py", "{ready}", "{empty}", "{out}"], "data folder {empty} holds no record"),
    (["-m", "ecgcinc", "info", "{missing}"], "model folder {missing} does not exist"),
    (["evaluate_model.py", "{missing}", "{data}"], "{missing}"),
    (["evaluate_model.py", "{data}", "{missing}"], "output folder {missing} does not exist"),
    (["-m", "ecgcinc", "experiment", "cv", "--data", "{missing}", "--out", "{out}"], "{missing}"),
    (["-m", "ecgcinc", "signal-auroc", "{missing}", "--n", "8", "--seed", "1"], "{missing}"),
    (["-m", "ecgcinc", "explain", "{empty}", "{missing}", "--out", "{out}/x.png"], "record {missing}: no header file"),
], ids=["driver-no-model", "driver-empty-model", "predict-no-model", "train-no-data", "train-empty-data",
        "driver-empty-data", "info-no-model", "evaluate-no-labels", "evaluate-no-outputs",
        "experiment-no-data", "signal-auroc-no-arm", "explain-no-record"])
def test_bad_folders_are_one_line_and_exit_status_2(command, expected, sample_dir, tmp_path, request):
    """The harness's commands and the evaluator check their folders before Keras loads: their
    one line comes at once, and here with the frameworks unimportable."""
    (tmp_path / "empty").mkdir()
    names = {"missing": str(tmp_path / "no" / "such"), "empty": str((tmp_path / "empty").resolve()),
             "data": str(sample_dir), "out": str(tmp_path / "out"), "ready": str(READY_MODEL)}
    case = request.node.callspec.id
    before_frameworks = case.startswith(("driver-", "predict-", "train-", "evaluate-", "info-"))
    run = _run(*[part.format(**names) for part in command], frameworks=not before_frameworks)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and expected.format(**names) in lines[0]
    assert not (tmp_path / "out").exists()  # no record was read, no empty model or output folder left behind


@pytest.mark.parametrize("script", ["driver.py", "train_model.py"])
def test_usage_lines_print_without_loading_keras(script):
    code = ("import runpy, sys\nsys.argv = [%r]\ntry:\n    runpy.run_path(%r, run_name='__main__')\n"
            "except SystemExit as stop:\n    print('keras' in sys.modules, stop.code)") % (script, script)
    run = _run("-c", code)
    loaded, usage = run.stdout.strip().split(" ", 1)
    assert loaded == "False" and usage.startswith(f"Usage: python {script}")


def test_framework_start_up_lines_are_silenced():
    run = _run("-c", "import ecgcinc.networks.models")  # the first module that loads Keras
    assert run.returncode == 0 and run.stderr == "", run.stderr


def test_commands_that_need_no_network_import_no_framework():
    """The evaluator, the command line's parser, the generators, the reader and the model card start without Keras
    (bench/startup.py measures how fast)."""
    modules = ("evaluate_model, ecgcinc.__main__, ecgcinc.signals.synth, ecgcinc.signals.challenge_corpus, ecgcinc.io.records, "
               "ecgcinc.serving.card")  # card: `ecgcinc info` reads a folder without loading it
    run = _run("-c", f"import sys, {modules}; print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', "
                     f"'sklearn', 'neurokit2') if m in sys.modules))")
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


def test_the_parsers_experiment_names_are_the_experiments():
    from ecgcinc import __main__ as cli
    from ecgcinc.evidence import experiments
    assert set(cli.EXPERIMENT_NAMES) == set(experiments.EXPERIMENTS)


def test_every_command_describes_each_argument_and_the_top_level_help_names_each_command_once():
    from ecgcinc.__main__ import parser
    top = parser()
    commands = next(a for a in top._actions if a.dest == "command").choices
    text = top.format_help()
    for name, command in commands.items():
        assert sum(line.split()[0] == name for line in text.splitlines() if line.strip()) == 1, name
        for action in command._actions:
            if action.dest != "help":
                assert action.help and action.help.strip(), f"{name} {action.dest}"
        assert "(default:" in command.format_help() or not any(a.option_strings and a.default not in (None, False)
                                                                for a in command._actions if a.dest != "help")


def test_a_trained_folder_without_keras_installed_is_one_line(monkeypatch):
    """In the TensorFlow-free environment (requirements-inference.txt) a trained folder is refused
    before anything loads, saying what to do, instead of a traceback."""
    from importlib.metadata import PackageNotFoundError
    from ecgcinc.serving import model_folder

    def missing(name):
        raise PackageNotFoundError(name)
    monkeypatch.setattr(model_folder, "version", missing)
    with pytest.raises(model_folder.ModelFolderError, match="has no Keras: install requirements.txt, or export"):
        model_folder.check(READY_MODEL)

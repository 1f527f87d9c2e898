"""Files other users can read: a model trained by one user (root in the container) serves
driver.py run as another (uid 65534, as on organisers' runners), outputs are 0644 under the
usual umask, and a model folder that cannot be read or loaded is one error line and exit
status 2 before any record is read."""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from ecgcinc.serving import model_folder
from ecgcinc.io import outputs
from ecgcinc.serving.predict import predict_folder
from ecgcinc.io.records import find_records

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


def test_written_files_get_the_umask_mode(tmp_path):
    outputs.atomic_write_text(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == outputs.FILE_MODE
    assert outputs.FILE_MODE == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.slow
def test_the_model_folder_and_outputs_are_readable_by_others(trained_model, sample_dir, tmp_path):
    if _umask() & 0o044:
        pytest.skip("this umask withholds read permission from others by choice")
    for path in trained_model.iterdir():
        assert path.stat().st_mode & 0o044 == 0o044, path.name
    predict_folder(trained_model, sample_dir, tmp_path / "out", verbose=0)
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in (tmp_path / "out").iterdir())


def test_a_model_that_cannot_load_is_one_error_before_any_record(trained_model_files, sample_dir, tmp_path,
                                                                 monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("File not found: filepath=model.keras")
    out = tmp_path / "out"
    with pytest.raises(model_folder.ModelFolderError, match="cannot be loaded: File not found"):
        predict_folder(trained_model_files, sample_dir, out, verbose=0, load_model=broken)
    assert not out.exists()


@pytest.fixture
def trained_model_files(tmp_path):
    """A folder with the files check() requires, for tests that never load the network."""
    folder = tmp_path / "model"
    folder.mkdir()
    for name in (model_folder.MODEL_FILE, *model_folder.REQUIRED):
        (folder / name).write_text("{}")
    return folder


def test_an_unreadable_model_file_is_one_line_and_exit_2(trained_model_files, sample_dir, tmp_path, monkeypatch,
                                                         capsys):
    import runpy
    real_open = open

    def refuse_model(path, *args, **kwargs):
        if Path(path).name == "model.keras":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(model_folder, "open", refuse_model, raising=False)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["driver.py", str(trained_model_files), str(sample_dir), str(out)])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(ROOT / "driver.py"), run_name="__main__")
    assert stopped.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "cannot read model.keras (Permission denied)" in err[0]
    assert not out.exists()


def _as_nobody(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "KERAS_BACKEND": "tensorflow",
           "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: (os.setgroups([]), os.setgid(NOBODY), os.setuid(NOBODY)))


def _linked_copy(source: Path, target: Path) -> None:
    """`source` as a tree of hard links (cp -al: a few seconds for a whole Python), or copied
    where it lies on another file system; file modes are the source's either way."""
    if subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True).returncode:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, symlinks=True)


def readable_environment(shared: Path) -> tuple[Path, Path, dict[str, str]]:
    """(python, checkout, environment) that uid 65534 can run: this Python's installation, its
    virtual environment's packages and the checkout, linked into `shared`.  Why: CI's checkout and
    Python lie under root's private home, which another user cannot enter, while what this test
    asks is whether the files training writes serve another user."""
    python_home, packages, checkout = shared / "python", shared / "site-packages", shared / "checkout"
    _linked_copy(Path(sys.base_prefix), python_home)
    if sys.prefix != sys.base_prefix:
        _linked_copy(Path(sysconfig.get_paths()["purelib"]), packages)
    shutil.copytree(ROOT, checkout, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "runs", "tests", "bench", "docs", "__pycache__", ".pytest_cache"))
    for folder, _, files in os.walk(checkout):  # a private clone's modes would travel with the copy
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    python = python_home / "bin" / Path(os.path.realpath(sys.executable)).name
    # the interpreter may name its libpython by an absolute path under the original home
    return python, checkout, {"PYTHONPATH": str(packages), "LD_LIBRARY_PATH": str(python_home / "lib"),
                              "PYTHONNOUSERSITE": "1"}


@pytest.fixture
def shared_dir():
    """A folder every user can enter (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="ecgcinc-shared-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="switching users needs root")
def test_driver_as_another_user(trained_model, sample_dir, shared_dir):
    python, checkout, env = readable_environment(shared_dir)
    model, data, out = shared_dir / "model", shared_dir / "data", shared_dir / "out"
    shutil.copytree(trained_model, model)  # copies keep the modes the training wrote
    shutil.copytree(sample_dir, data)
    data.chmod(0o755)
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    model.chmod(0o700)  # a folder private to its owner: one line, exit 2, nothing written
    done = _as_nobody([str(python), "driver.py", str(model), str(data), str(out)], checkout, env)
    assert done.returncode == 2 and "cannot open the folder" in done.stderr and not list(out.iterdir()), done.stderr
    model.chmod(0o755)  # as train_model.py creates it under the usual umask
    done = _as_nobody([str(python), "driver.py", str(model), str(data), str(out)], checkout, env)
    assert done.returncode == 0, done.stderr[-2000:]
    written = sorted(out.glob("*.csv"))
    assert [p.stem for p in written] == [p.stem for p in find_records(data)]
    assert all(len(p.read_text().splitlines()) == 4 for p in written)

    (model / "model.keras").chmod(0o600)  # as mkstemp used to leave it: the owner's alone
    shutil.rmtree(out)
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    done = _as_nobody([str(python), "driver.py", str(model), str(data), str(out)], checkout, env)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "cannot read model.keras" in errors[0], done.stderr
    assert not list(out.iterdir())

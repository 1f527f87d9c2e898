"""The README's commands are the ones CI and users run."""
import hashlib
import json
import re
from pathlib import Path

from ecgcinc.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Run the tests[^\n]*:\n\n    (.+)\n", readme).group(1)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert ci_lines[-1] == command


# SHA-256 of the official Challenge 2021 weights.csv (physionetchallenges/evaluation-2021).
OFFICIAL_WEIGHTS_SHA256 = "668cb04555a97e8977488cb4bb6088d0d2bf9e59557945deedf29d5065c14d2b"


def test_weights_files_are_the_official_one():
    """The harness's top-level copy and the package's copy (the default) are the official file."""
    for path in (ROOT / "weights.csv", ROOT / "ecgcinc" / "weights.csv"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == OFFICIAL_WEIGHTS_SHA256, path


def test_cli_synth_and_leads(tmp_path, capsys):
    main(["synth", str(tmp_path / "s"), "--n", "4", "--seed", "3", "--sources", "XB,XC", "--workers", "1"])
    assert sorted(p.name for p in (tmp_path / "s").glob("*.hea")) == ["XB00001.hea", "XB00002.hea",
                                                                      "XC00001.hea", "XC00002.hea"]
    main(["leads", str(tmp_path / "s"), str(tmp_path / "two"), "--leads", "I", "II"])
    assert (tmp_path / "two" / "XB00001.hea").read_text().split("\n")[0].split()[1] == "2"
    assert "wrote 4 records" in capsys.readouterr().out


def test_package_metadata_names_what_exists():
    """pyproject.toml: the console command's function exists, every package-data pattern matches a
    file inside the package, and the dependencies are requirements.txt's (the Challenge's install
    path), minus the test runner."""
    import tomllib

    import ecgcinc.__main__ as cli
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module, function = project["project"]["scripts"]["ecgcinc"].split(":")
    assert module == "ecgcinc.__main__" and callable(getattr(cli, function))
    for pattern in project["tool"]["setuptools"]["package-data"]["ecgcinc"]:
        assert list((ROOT / "ecgcinc").glob(pattern)), pattern
    normalise = lambda r: r.replace('"', "'").replace(" ", "")  # noqa: E731
    assert sorted(map(normalise, project["project"]["dependencies"])) == \
        sorted(normalise(r) for r in _requirements("requirements.txt") if not r.startswith("pytest"))
    scale = project["project"]["optional-dependencies"]["scale"]
    assert _requirements("requirements-scale.txt") == ["-r requirements.txt", *scale]


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_ci_installs_the_optional_scale_dependencies():
    """The data-parallel and Ray tests skip without JAX or Ray; CI installs both so they run."""
    assert "-r requirements-scale.txt" in (ROOT / ".ci" / "run").read_text()


def test_no_module_edits_sys_path():
    files = [*ROOT.glob("*.py"), *(p for folder in ("ecgcinc", "tests", "bench", "scripts")
                                   for p in (ROOT / folder).rglob("*.py"))]
    offenders = [str(p.relative_to(ROOT)) for p in files
                 if "sys.path.insert" in p.read_text() and p.name != "test_docs.py"]
    assert offenders == []


def _table_after(text: str, marker: str) -> list[list[str]]:
    """The rows of the first Markdown table after `marker`."""
    lines = text[text.index(marker):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        if not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_readme_results_are_the_summary_of_docs_results():
    """Every number of the README's results table stands in the same row of docs/results.md's
    summary of the current default, which names the commit and the table each comes from."""
    readme = _table_after((ROOT / "README.md").read_text(), "## What it scores")
    summary = _table_after((ROOT / "docs" / "results.md").read_text(), "## The current default")
    assert readme and len(readme) == len(summary)
    number = re.compile(r"[−+-]?\d+\.\d+")
    for ours, theirs in zip(readme, summary):
        assert ours[0] == theirs[0]
        assert number.findall(" ".join(ours)) == number.findall(" ".join(theirs[: len(ours)]))
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024


def test_every_mutation_of_the_mutation_check_targets_code_that_exists():
    """scripts/mutation_check.py breaks code its tests must catch: each target occurs once, and
    each guarding test exists, so the check cannot silently test nothing."""
    check = _mutation_check()
    assert len(check.MUTATIONS) >= 10
    for name, path, old, new, tests in check.MUTATIONS:
        assert (ROOT / path).read_text().count(old) == 1 and old != new, name
        for test in tests:
            file, _, function = test.partition("::")
            assert (ROOT / file).is_file() and (not function or f"def {function}(" in (ROOT / file).read_text()), test


def test_the_readme_opens_its_python_with_load_and_predict_and_the_examples_run(monkeypatch):
    """The README's first Python example is ecgcinc.load(...).predict(...); it, docs/api.md and
    the API module's examples run as doctests (the ready model answers them)."""
    import doctest
    import ecgcinc.api
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert "ecgcinc.load()" in first and ".predict(" in first
    monkeypatch.chdir(ROOT)
    for page in ("README.md", "docs/api.md"):
        result = doctest.testfile(str(ROOT / page), module_relative=False, optionflags=doctest.ELLIPSIS)
        assert result.attempted >= 3 and result.failed == 0, page
    result = doctest.testmod(ecgcinc.api)
    assert result.attempted >= 3 and result.failed == 0


def _mutation_check():
    import importlib.util
    spec = importlib.util.spec_from_file_location("mutation_check", ROOT / "scripts" / "mutation_check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    return check


def test_the_mutation_check_is_a_gate(tmp_path, monkeypatch):
    """A mutation its tests do not catch makes it exit 1; tests that fail unmutated make it refuse
    (exit 2); the live tree is never edited."""
    check = _mutation_check()
    monkeypatch.setattr(check, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(check.sys, "argv", ["mutation_check.py"])
    harmless = ("a comment changed", "ecgcinc/core/metrics.py", "from __future__ import annotations\n",
                "from __future__ import annotations  # changed\n", ["tests/test_layers.py::test_every_folder_is_a_layer"])
    before = (ROOT / harmless[1]).read_text()
    monkeypatch.setattr(check, "MUTATIONS", [harmless])
    assert check.main() == 1
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["survivors"] == ["a comment changed"] and saved["results"][0]["commit"]
    assert (ROOT / harmless[1]).read_text() == before
    monkeypatch.setattr(check, "MUTATIONS", [(*harmless[:4], ["tests/test_layers.py::no_such_test"])])
    assert check.main() == 2

"""The README's commands are the ones CI and users run."""
import re
from pathlib import Path

from ecgcinc.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Run the tests:\n\n    (.+)\n", readme).group(1)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert ci_lines[-1] == command


def test_weights_file_is_the_official_one():
    shared = ROOT.parent / "shared" / "challenge" / "weights.csv"
    if shared.is_file():
        assert (ROOT / "weights.csv").read_bytes() == shared.read_bytes()


def test_cli_synth_and_leads(tmp_path, capsys):
    main(["synth", str(tmp_path / "s"), "--n", "4", "--seed", "3", "--sources", "XB,XC", "--workers", "1"])
    assert sorted(p.name for p in (tmp_path / "s").glob("*.hea")) == ["XB00001.hea", "XB00002.hea",
                                                                      "XC00001.hea", "XC00002.hea"]
    main(["leads", str(tmp_path / "s"), str(tmp_path / "two"), "--leads", "I", "II"])
    assert (tmp_path / "two" / "XB00001.hea").read_text().split("\n")[0].split()[1] == "2"
    assert "wrote 4 records" in capsys.readouterr().out

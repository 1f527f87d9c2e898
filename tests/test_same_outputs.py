"""driver.py's files, byte for byte: the shipped ready model on the 13 real test records writes
the files whose hashes tests/golden/ready_model_outputs.json holds.  A behaviour-preserving change
(a move of modules, a refactor of the features, the reader or the decision) must leave them
equal; retraining the ready model (scripts/ready_model.sh) writes the file anew."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecgcinc.serving.ready import READY_MODEL

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "ready_model_outputs.json"

pytestmark = pytest.mark.slow  # loads a network


def output_hashes(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(out.glob("*.csv"))}


def model_hash() -> str:
    return hashlib.sha256((READY_MODEL / "model.keras").read_bytes()).hexdigest()


def driver_hashes(data: Path, out: Path) -> dict[str, str]:
    subprocess.run([sys.executable, "driver.py", str(READY_MODEL), str(data), str(out)], cwd=ROOT,
                   check=True, capture_output=True, timeout=600)
    return output_hashes(out)


def test_driver_writes_the_same_bytes_as_when_the_ready_model_was_made(sample_dir, tmp_path):
    golden = json.loads(GOLDEN.read_text())
    assert golden["model_sha256"] == model_hash(), "the ready model changed: scripts/ready_model.sh writes the file"
    assert driver_hashes(sample_dir, tmp_path) == golden["outputs"]


if __name__ == "__main__":  # scripts/ready_model.sh, after a new ready model
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        golden = {"model_sha256": model_hash(), "outputs": driver_hashes(ROOT / "tests" / "data" / "real", Path(folder))}
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")

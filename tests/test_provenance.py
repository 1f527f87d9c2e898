"""The code hash that experiment units carry: any change of the package's source changes it."""
import shutil

from ecgcinc.core import provenance


def test_the_source_hash_follows_every_source_file(tmp_path, monkeypatch):
    copy = tmp_path / "ecgcinc"
    shutil.copytree(provenance.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE", copy)
    provenance.source_hash.cache_clear()
    try:
        first = provenance.source_hash()
        (copy / "decision" / "thresholds.py").write_text((copy / "decision" / "thresholds.py").read_text() + "\n# changed\n")
        provenance.source_hash.cache_clear()
        changed = provenance.source_hash()
        (copy / "configs" / "small.json").write_text("{}")
        provenance.source_hash.cache_clear()
        assert len({first, changed, provenance.source_hash()}) == 3
    finally:
        provenance.source_hash.cache_clear()


def test_a_checkout_outside_git_has_no_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "PACKAGE", tmp_path)
    assert provenance.commit() == ""

"""The Challenge-shaped corpus at a small scale: every source's record count in proportion, its
rate and its lengths, and labels only from the classes the real source annotates."""
import pytest

from ecgcinc.signals import challenge_corpus as cc
from ecgcinc.io.records import find_records, record_prefix

SCALE = 0.002


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("challenge_shape")
    return out, cc.write_corpus(out, SCALE, seed=5, workers=2)


def headers_by_database(folder):
    """{database: [(fs, seconds, dx codes)]}; Ningbo and Chapman-Shaoxing share the JS prefix
    and are told apart by their numbers, as in the real folders."""
    out = {}
    for header in find_records(folder):
        lines = header.read_text().splitlines()
        _, _, fs, samples = lines[0].split()[:4]
        dx = next(line.split(":", 1)[1].strip() for line in lines if line.lstrip("#").strip().startswith("Dx"))
        number = int(header.stem[len(record_prefix(header.stem)):])
        database = next(d for d in reversed(cc.DATABASES)
                        if d.prefix == record_prefix(header.stem) and number >= d.first_number)
        out.setdefault(database.name, []).append((float(fs), int(samples) / float(fs), set(dx.split(","))))
    return out


def test_counts_rates_and_lengths_follow_the_2021_training_set(corpus):
    folder, counts = corpus
    found = headers_by_database(folder)
    assert cc.FULL_SIZE == 88_253
    for database in cc.DATABASES:
        records = found[database.name]
        assert len(records) == counts[database.name] == max(1, round(database.records * SCALE))
        assert {fs for fs, _, _ in records} == {database.fs}
        low, high = database.duration_s
        assert all(low - 0.01 <= seconds <= high + 0.01 for _, seconds, _ in records), database.name
    assert found["INCART"][0][1] == pytest.approx(1800, abs=0.01)
    assert sum(counts.values()) == pytest.approx(cc.FULL_SIZE * SCALE, rel=0.02)


def test_sources_write_only_what_the_real_ones_annotate(corpus):
    folder, _ = corpus
    real = cc._counts()
    found = headers_by_database(folder)
    for database in cc.DATABASES:
        written = set().union(*(dx for _, _, dx in found[database.name])) - {""}
        for code in written & set(real):
            assert real[code][database.column] > 0, (database.name, code)
    # CPSC writes right bundle branch block with the code it uses in the real data (59118001)
    cpsc = cc.source_of(cc.DATABASES[0], real)
    assert cpsc.alt_codes.get("CRBBB") == "59118001" and "LAD" not in cpsc.annotates


def test_scale_must_be_positive():
    with pytest.raises(ValueError, match="scale"):
        cc.scaled_counts(0)

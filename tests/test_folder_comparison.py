"""Model folders compared on real records (evidence/folder_comparison.py) and the pretraining's
per-source scores, which share its predictions."""
import pytest

from ecgcinc.evidence.folder_comparison import compare, predictions
from ecgcinc.io.records import find_records


@pytest.mark.slow
def test_a_folder_against_itself_differs_by_nothing_and_each_source_gets_a_row(trained_model, sample_dir):
    with pytest.raises(ValueError, match="as many folders"):
        compare({"first": [trained_model], "again": [trained_model, trained_model]}, [sample_dir])
    text = compare({"first": [trained_model], "again": [trained_model]}, [sample_dir])
    assert "| first | 1 |" in text and "| again | 1 |" in text and "+0.000 [+0.000, +0.000]" in text
    _, labels, probabilities, binary, sources = predictions(trained_model, find_records(sample_dir))
    assert len(labels) == len(probabilities) == len(binary) == len(find_records(sample_dir))
    for source in set(sources):
        assert f"| {source} | {int((sources == source).sum())} |" in text

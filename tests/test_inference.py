"""The fast inference path: one compiled function, bounded shapes, read-ahead in the driver loop."""
import keras
import numpy as np

from ecgcinc.serving.inference import _bucket, forward
from ecgcinc.serving.predict import load_predictor, predict_folder
from ecgcinc.io.records import find_records, load_mat


def test_batches_are_padded_to_a_few_shapes():
    assert [_bucket(n, 64) for n in (1, 2, 3, 5, 16, 17, 64)] == [1, 2, 4, 8, 16, 32, 64]
    assert {_bucket(n, 64) for n in range(1, 65)} == {1, 2, 4, 8, 16, 32, 64}


def test_padded_forward_equals_the_plain_call(trained_model):
    network = load_predictor(trained_model).network
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, network.inputs[0].shape[1], 12)).astype(np.float32)
    meta = rng.normal(size=(5, network.inputs[1].shape[1])).astype(np.float32)
    expected = np.asarray(network([x, meta], training=False))
    assert np.allclose(forward(network, x, meta), expected, atol=1e-5)
    assert np.allclose(forward(network, x, meta, batch_size=2), expected, atol=1e-5)


def test_run_model_never_calls_model_predict(trained_model, synthetic_test, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("model.predict() called per record")
    monkeypatch.setattr(keras.Model, "predict", refuse)
    predictor = load_predictor(trained_model)
    for header in find_records(synthetic_test)[:6]:  # 10-40 s, 257-1000 Hz: 1 to 7 windows
        classes, labels, probabilities = predictor.run(header.read_text(), load_mat(header.with_suffix(".mat"),
                                                                                   header.stem))
        assert len(probabilities) == len(classes) == 26


def test_driver_loop_times_every_record(trained_model, synthetic_test, tmp_path):
    timings = []
    assert predict_folder(trained_model, synthetic_test, tmp_path, verbose=0, timings=timings) == 0
    headers = find_records(synthetic_test)
    assert len(timings) == len(headers) and all(t > 0 for t in timings)
    assert sorted(p.stem for p in tmp_path.glob("*.csv")) == sorted(h.stem for h in headers)

"""A champion's relations are fitted once for every window length, across steps and processes."""

import threading

import numpy as np
import polars as pl

from factory_assets.lib import drift_relations
from factory_assets.lib.drift_relations import fit_relations
from factory_assets.lib.drift_relations_store import fitted_relations
from factory_assets.resources import ReportStore

ROWS, PERIODS = 200, 30
RELATE = (["temperature", "dewpoint"], ["carrier"])


def _reference(rows: int = ROWS) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    n = rows * PERIODS
    temperature = np.repeat(rng.normal(0, 2, PERIODS), rows) + rng.normal(0, 1, n)
    return pl.DataFrame(
        {
            "period": np.repeat([f"p{i:02d}" for i in range(PERIODS)], rows),
            "temperature": temperature,
            "dewpoint": temperature - np.abs(rng.normal(1, 0.3, n)),
            "carrier": rng.choice(["a", "b", "c"], n),
        }
    )


def test_relations_are_saved_whole_and_read_back_equal(tmp_path) -> None:
    ref = _reference()
    reports = ReportStore(root=str(tmp_path))
    champion = ("m", "3", ("2013-01-01", "2013-03-31"), "run-a")
    fitted, residuals = fitted_relations(ref, ref["period"], champion, RELATE, reports, {})
    assert fitted is not None and residuals
    assert len(list((tmp_path / "m").glob("drift_relations_v3_*.npz"))) == 1
    again, read = fitted_relations(ref, ref["period"], champion, RELATE, reports, {})
    assert again == fitted  # the boosters, sketches and spreads, from the file
    assert read.keys() == residuals.keys()
    for name, values in residuals.items():
        np.testing.assert_array_equal(read[name], values)
    direct, _ = fit_relations(ref, *RELATE, ref["period"])
    assert direct == fitted


def test_no_relation_is_remembered_too(tmp_path) -> None:
    small = _reference(rows=10)  # 300 rows: under MIN_ROWS
    reports = ReportStore(root=str(tmp_path))
    champion = ("m", "1", ("a", "b"), "run-b")
    assert fitted_relations(small, small["period"], champion, RELATE, reports, {}) == (None, {})
    assert fitted_relations(small, small["period"], champion, RELATE, reports, {}) == (None, {})
    assert len(list((tmp_path / "m").glob("drift_relations_v1_*.npz"))) == 1


def test_steps_that_need_it_at_once_fit_it_once(tmp_path, monkeypatch) -> None:
    ref = _reference()
    reports = ReportStore(root=str(tmp_path))
    calls = []
    real = drift_relations.fit_relations

    def counted(*args, **kwargs):  # noqa: ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(drift_relations, "fit_relations", counted)
    champion, answers = ("m", "2", ("x", "y"), "run-c"), []

    def step() -> None:  # each with a process cache of its own, as forked steps have
        answers.append(fitted_relations(ref, ref["period"], champion, RELATE, reports, {})[0])

    threads = [threading.Thread(target=step) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(answers) == 3 and answers[0] is not None and answers.count(answers[0]) == 3


def test_a_sample_of_rows_fits_and_every_row_gets_its_residual(monkeypatch) -> None:
    ref = _reference()  # 6,000 rows
    whole, full = fit_relations(ref, *RELATE, ref["period"])
    monkeypatch.setattr(drift_relations, "FIT_ROWS", 1000)  # each fold learns from ~1,000 rows
    sampled, residuals = fit_relations(ref, *RELATE, ref["period"])
    assert sampled is not None and sampled != whole  # other rows, other boosters
    for name, values in residuals.items():
        assert values.size == ref.height and np.isfinite(values).all()
        # the relation is learnt all the same: residuals as narrow as the whole fit's, within 20 %
        assert np.std(values) < 1.2 * np.std(full[name])

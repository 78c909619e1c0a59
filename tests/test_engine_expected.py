"""The stored expected values are what the reference computes today."""

import json

import numpy as np
import pytest

from autograder import paths
from autograder.engine import load_rubric
from autograder.engine.checks import GROUPS
from autograder.tools import make_expected

CASES = make_expected.make_all()


def test_every_stored_file_is_made_by_the_generator():
    stored = {p.stem for p in paths.EXPECTED_DIR.glob("*.npz")}
    assert stored == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_regenerating_gives_the_stored_values(name):
    with np.load(paths.EXPECTED_DIR / f"{name}.npz", allow_pickle=False) as stored:
        assert set(stored.files) == set(CASES[name])
        for key, value in CASES[name].items():
            assert stored[key].shape == np.shape(value), key
            if stored[key].dtype.kind in "iub":
                assert np.array_equal(stored[key], value), key
            else:
                np.testing.assert_allclose(stored[key], value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_hidden_inputs_differ_from_the_notebook_ones():
    # The visible checks use the published notebooks' shapes; the hidden ones must not.
    visible = {
        "rnn_step_forward": {"N": 3, "D": 10, "H": 4},
        "rnn_forward": {"N": 2, "T": 3, "D": 4, "H": 5},
        "lstm_step_forward": {"N": 3, "D": 4, "H": 5},
        "lstm_forward": {"N": 2, "T": 3, "D": 5, "H": 4},
        "word_embedding_forward": {"N": 2, "T": 4, "V": 5, "D": 3},
    }
    for fn, dims in visible.items():
        assert make_expected.LAYER_DIMS[fn] != dims
    assert make_expected.LOSS_DIMS != {"N": 10, "D": 20, "W": 30, "H": 40, "V": 3, "T": 13}


def test_the_rubric_totals_100_and_names_every_check_once():
    rubric = load_rubric()
    assert sum(c["points"] for c in rubric) == 100
    names = [c["name"] for c in rubric]
    assert sorted(names) == sorted(n for g in GROUPS for n in g.checks)
    for entry in rubric:
        assert set(entry) == {"name", "points", "function", "cell", "visibility"}
        assert entry["visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    assert json.loads(paths.RUBRIC.read_text())["total"] == 100


def test_the_recorded_thresholds_are_the_ones_in_use():
    from autograder.engine.checks.training import TRAINING

    text = paths.THRESHOLDS.read_text()
    for check, config in TRAINING.items():
        if config.loss_below is not None:
            assert f"## {check} (loss < {config.loss_below:g})" in text
        else:
            assert f"## {check} (BLEU > {config.bleu_above:g})" in text
        assert f"Configuration: `{config}`" in text


def test_the_recorded_measurement_meets_the_targets():
    """2,000 reference runs per training check with no failure, every bug failing every one
    of its 50 runs, and a false-fail rate below 1e-6 for the check as graded."""
    from autograder.engine.checks.training import TRAINING
    from autograder.tools.thresholds import passes, upper_bound

    record = json.loads(paths.THRESHOLDS.with_suffix(".json").read_text())
    assert set(record["checks"]) == set(TRAINING)
    for check, entry in record["checks"].items():
        config = TRAINING[check]
        assert entry["config"] == str(config)
        runs = entry["reference"]
        failed = sum(not passes(config, v) for v in runs)
        assert len(runs) >= 2000 and failed == 0, check
        assert upper_bound(failed, len(runs)) ** config.attempts < 1e-6, check
        for name, values in entry["bugs"].items():
            assert len(values) >= 50 and not any(passes(config, v) for v in values), name


def test_the_failure_rate_bound_is_clopper_pearson():
    from autograder.tools.thresholds import upper_bound

    assert upper_bound(0, 2000) == pytest.approx(1 - 0.05 ** (1 / 2000))
    assert upper_bound(1, 100) == pytest.approx(0.0466, abs=2e-4)  # the exact binomial bound
    assert upper_bound(0, 100) < upper_bound(1, 100) < upper_bound(2, 100)

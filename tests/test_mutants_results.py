"""Tests that kill mutants of nnbackprop/results.py which the rest of the suite let through (benchmarks/mutants.py)."""

from __future__ import annotations

from nnbackprop import results


def test_a_result_may_hold_null_where_training_writes_a_non_finite_number():
    # training writes null for a loss or gradient that is not finite (finite_or_none)
    document = {key: None for key in ("final_loss", "best_loss", "gradient_norm", "gradient_cosine", "wall_time_s")}
    results.check_document({**document, "loss_history": [1.0, None]}, "r.json")


def test_a_bad_whole_number_is_told_its_bounds():
    import pytest

    from nnbackprop.errors import ResultError

    with pytest.raises(ResultError, match=r"epochs: must be a whole number >= 0, got -1"):
        results.whole(-1, "r.json", "epochs", 0, results.MAX_EPOCHS_IN_A_FILE)
    with pytest.raises(ResultError, match=r"best_epoch: must be a whole number from 0 to 5, got 7"):
        results.whole(7, "r.json", "best_epoch", 0, 5)

"""Hierarchical bootstrap of paired differences: known answers on synthetic data."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from vlt_mini.evaluation.statistics import (COMPARISON_COLUMNS, compare_trackers, comparison_row,
                                            format_comparisons_csv, hierarchical_bootstrap, paired_differences,
                                            student_t_975, verdict, write_comparisons)


def _scores(values: np.ndarray) -> dict:
    return {(seed, f"video-{v}"): float(values[seed, v]) for seed in range(values.shape[0])
            for v in range(values.shape[1])}


def test_a_constant_shift_gives_an_interval_around_it():
    rng = np.random.default_rng(0)
    base = rng.normal(40, 15, size=(5, 40))  # 5 seeds, 40 videos of very different difficulty
    noise = rng.normal(0, 2, size=base.shape)
    result = compare_trackers(_scores(base + 3 + noise), _scores(base))
    assert result.seeds == 5 and result.videos == 40
    assert result.ci_low < result.delta < result.ci_high
    assert 2.0 < result.ci_low < 3 < result.ci_high < 4.0  # about ± 2·2/sqrt(200)
    assert result.verdict(+1.5) == "reproduces" and result.verdict(-4.0) == "opposite"


def test_pure_noise_is_inconclusive_and_covers_zero_at_about_the_nominal_rate():
    rng = np.random.default_rng(1)
    covered = 0
    for trial in range(40):
        differences = rng.normal(0, 5, size=(3, 20)) + rng.normal(0, 2, size=(3, 1))  # seed and video noise
        result = hierarchical_bootstrap(differences, resamples=2000, seed=trial)
        covered += result.ci_low <= 0 <= result.ci_high
    assert covered >= 35  # nominal 95 %
    result = hierarchical_bootstrap(np.random.default_rng(2).normal(0, 5, size=(5, 30)))
    assert result.verdict(10.0) == "inconclusive"


def test_seed_variance_widens_the_interval():
    rng = np.random.default_rng(3)
    video_noise = rng.normal(0, 1, size=(5, 30))
    calm = hierarchical_bootstrap(video_noise + 2)
    seed_effects = np.array([[-6.0], [8.0], [0.0], [5.0], [-3.0]])  # the training seed moves every video alike
    wild = hierarchical_bootstrap(video_noise + 2 + seed_effects)
    assert wild.ci_high - wild.ci_low > 4 * (calm.ci_high - calm.ci_low)
    assert calm.verdict(1.0) == "reproduces" and wild.verdict(1.0) == "inconclusive"


def test_three_seeds_of_one_sign_do_not_exclude_zero_by_construction():
    # the percentile bootstrap of 3 seeds puts its 2.5 % point at the smallest seed: the t guard widens it
    differences = np.array([[0.5], [6.0], [2.0]])
    naive = hierarchical_bootstrap(differences, few_seeds_guard=False)
    guarded = hierarchical_bootstrap(differences)
    assert naive.ci_low == pytest.approx(0.5) and naive.verdict(1.0) == "reproduces"
    mean, sd = differences.mean(), differences.std(ddof=1)
    assert guarded.ci_low == pytest.approx(mean - 4.303 * sd / np.sqrt(3)) and guarded.verdict(1.0) == "inconclusive"
    assert student_t_975(2) == 4.303 and 1.96 < student_t_975(100) < 2.0


def test_resampling_is_reproducible_and_missing_videos_are_skipped():
    values = np.array([[1.0, 2.0, np.nan], [3.0, np.nan, 5.0]])
    first, again = hierarchical_bootstrap(values, seed=7), hierarchical_bootstrap(values, seed=7)
    assert first == again
    assert first.delta == pytest.approx((1.5 + 4.0) / 2)
    with pytest.raises(ValueError, match="at least one scored video"):
        hierarchical_bootstrap(np.array([[np.nan, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="non-empty"):
        hierarchical_bootstrap(np.zeros((0, 3)))


def test_pairing_uses_only_common_seeds_and_videos_and_subsets():
    a = {(0, "x"): 50.0, (0, "y"): 40.0, (1, "x"): 52.0, (2, "x"): 10.0}
    b = {(0, "x"): 45.0, (0, "y"): 41.0, (1, "x"): 50.0}
    table, seeds, videos = paired_differences(a, b)
    assert seeds == [0, 1] and videos == ["x", "y"]
    np.testing.assert_array_equal(table, [[5.0, -1.0], [2.0, np.nan]])
    table, _, videos = paired_differences(a, b, videos=["x"])
    assert videos == ["x"] and table.shape == (2, 1)
    with pytest.raises(ValueError, match="in common"):
        paired_differences({(0, "x"): 1.0}, {(1, "x"): 1.0})


def test_verdicts_and_the_comparisons_csv(tmp_path):
    assert verdict(5.0, 0.5, 3.0) == "reproduces" and verdict(5.0, -3.0, -0.5) == "opposite"
    assert verdict(-5.0, -3.0, -0.5) == "reproduces" and verdict(5.0, -0.5, 3.0) == "inconclusive"
    assert verdict(0.0, 1.0, 2.0) == "inconclusive"
    result = hierarchical_bootstrap(np.full((3, 4), 2.0))
    assert (result.delta, result.ci_low, result.ci_high) == (2.0, 2.0, 2.0)
    row = comparison_row("3", "ModaMixer vs baseline", 5.3, result)
    path = write_comparisons(tmp_path / "study" / "comparisons.csv", [row])
    parsed = list(csv.DictReader(io.StringIO(path.read_text())))
    assert tuple(parsed[0]) == COMPARISON_COLUMNS
    assert parsed[0]["verdict"] == "reproduces" and parsed[0]["seeds"] == "3" and parsed[0]["videos"] == "4"
    with pytest.raises(ValueError, match="lacks"):
        format_comparisons_csv([{"table": "3"}])

"""MSE, Pearson correlation and the threshold sweep, against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnbook import metrics


def test_mean_squared_error_by_hand():
    scores = [0.9, 0.2, 0.6, 0.5]
    labels = [1, 0, 0, 1]
    # (0.1^2 + 0.2^2 + 0.6^2 + 0.5^2) / 4
    assert metrics.mean_squared_error(scores, labels) == pytest.approx(0.165)


def test_always_one_half_scores_a_quarter():
    labels = np.array([0, 1, 1, 0, 1])
    assert metrics.mean_squared_error(np.full(5, 0.5), labels) == pytest.approx(0.25)


def test_keras_shaped_predictions_are_accepted():
    scores = np.array([[0.9], [0.1], [0.8]])
    labels = np.array([1, 0, 1])
    assert metrics.mean_squared_error(scores, labels) == pytest.approx((0.01 + 0.01 + 0.04) / 3)


def test_pearson_matches_numpy_and_its_extremes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=200)
    scores = (0.3 * labels + rng.uniform(0, 1, size=200)) / 1.3
    expected = np.corrcoef(scores, labels)[0, 1]
    assert metrics.pearson_correlation(scores, labels) == pytest.approx(expected)
    assert metrics.pearson_correlation(labels * 0.5 + 0.2, labels) == pytest.approx(1.0)
    assert metrics.pearson_correlation(1 - labels, labels) == pytest.approx(-1.0)


def test_pearson_of_constant_scores_is_nan():
    assert math.isnan(metrics.pearson_correlation(np.full(4, 0.5), [0, 1, 0, 1]))


def test_ten_thresholds_from_zero_include_one_half():
    thresholds = metrics.sweep_thresholds(10)
    np.testing.assert_allclose(thresholds, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])


def test_sweep_finds_the_threshold_that_separates_the_classes():
    # Dogs score 0.35 and up: only thresholds from 0.25 to 0.35 are perfect.
    scores = np.array([0.10, 0.15, 0.25, 0.35, 0.40, 0.90])
    labels = np.array([0, 0, 0, 1, 1, 1])
    sweep = metrics.threshold_sweep(scores, labels)
    assert sweep.best_accuracy == 1.0
    assert sweep.best_threshold == pytest.approx(0.3)
    assert metrics.accuracy_at(scores, labels, 0.5) == pytest.approx(4 / 6)
    # at 0.0 everything is called a dog: half right
    assert sweep.accuracies[0] == pytest.approx(0.5)
    assert metrics.best_accuracy(scores, labels) == 1.0


def test_sweep_accuracy_agrees_with_accuracy_at_each_threshold():
    rng = np.random.default_rng(1)
    scores = rng.uniform(size=50)
    labels = rng.integers(0, 2, size=50)
    sweep = metrics.threshold_sweep(scores, labels, num_thresholds=7)
    for threshold, accuracy in zip(sweep.thresholds, sweep.accuracies, strict=True):
        assert accuracy == pytest.approx(metrics.accuracy_at(scores, labels, threshold))


@pytest.mark.parametrize(
    "scores, labels, words",
    [
        ([0.1, 0.2], [0, 1, 1], "(2,)"),
        (np.zeros((2, 2)), [0, 1], "(2, 2)"),
        ([], [], "empty"),
        ([0.1, float("nan")], [0, 1], "NaN"),
    ],
)
def test_bad_input_names_the_problem(scores, labels, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        metrics.mean_squared_error(scores, labels)


def test_labels_must_be_binary_for_accuracy():
    with pytest.raises(ValueError, match="0 or 1"):
        metrics.threshold_sweep([0.2, 0.7], [0, 2])


def test_number_of_thresholds_must_be_positive():
    with pytest.raises(ValueError, match="positive integer"):
        metrics.sweep_thresholds(0)


@pytest.mark.parametrize(
    "scores, labels, words",
    [
        ([0.2, 0.7, 0.4], [0, float("nan"), 1], "1 of the 3 labels are NaN"),
        ([0.2, 0.7, 0.4], [0, 255, 0], r"0 or 1.*255.*divide by 255"),
        ([-2.3, 4.1, 0.5], [0, 1, 1], r"probabilities in \[0, 1\].*-2.3 to 4.1.*logits.*sigmoid"),
        ([0.2, 1.5], [0, 1], "logits"),
    ],
)
@pytest.mark.parametrize(
    "metric",
    [
        metrics.mean_squared_error,
        metrics.pearson_correlation,
        metrics.accuracy_at,
        metrics.threshold_sweep,
        metrics.best_accuracy,
    ],
    ids=lambda f: f.__name__,
)
def test_every_metric_refuses_nan_labels_pixel_labels_and_logits(metric, scores, labels, words):
    with pytest.raises(ValueError, match=words):
        metric(scores, labels)


def test_float32_rounding_just_past_one_is_still_a_probability():
    scores = np.array([0.0, 1.0 + 1e-7, 0.3], dtype=np.float64)
    assert metrics.mean_squared_error(scores, [0, 1, 0]) == pytest.approx(0.03, abs=1e-6)


def test_confusion_matrix_lives_with_the_other_metrics():
    from cnnbook import mnist

    matrix = metrics.confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], num_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    np.testing.assert_array_equal(metrics.misclassified([0, 1, 1, 2], [0, 2, 1, 2]), [1])
    assert mnist.confusion_matrix is metrics.confusion_matrix  # the old import still works
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        metrics.confusion_matrix([0], [0], num_classes=0)


# --------------------------------------------------------------------------- uncertainty
@pytest.mark.parametrize(
    "successes, n, low, high",
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score)
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(successes, n, low, high):
    interval = metrics.wilson_interval(successes, n)
    assert interval == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_is_symmetric_narrows_with_n_and_rejects_nonsense():
    low, high = metrics.wilson_interval(40, 50)
    assert metrics.wilson_interval(10, 50) == pytest.approx((1 - high, 1 - low))
    assert metrics.wilson_interval(800, 1000)[1] - metrics.wilson_interval(800, 1000)[0] < (
        high - low
    )
    assert metrics.accuracy_interval(0.8, 50) == pytest.approx((low, high))
    for bad in [(-1, 10), (11, 10), (1, 0), (1.5, 10)]:
        with pytest.raises(ValueError, match="must be"):
            metrics.wilson_interval(*bad)


# --------------------------------------------------------------------------- ranking
def test_roc_curve_and_auc_by_hand():
    # scikit-learn's documented example: AUC 0.75
    scores, labels = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]
    fpr, tpr, thresholds = metrics.roc_curve(scores, labels)
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1] and tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thresholds[0] == np.inf and thresholds[1:].tolist() == [0.8, 0.4, 0.35, 0.1]
    assert metrics.roc_auc(scores, labels) == pytest.approx(0.75)


def test_auc_is_the_share_of_dog_cat_pairs_in_order_ties_half():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(0.3 * labels + rng.uniform(size=300), 1) / 1.3  # many ties, in [0, 1]
    dogs, cats = scores[labels == 1], scores[labels == 0]
    pairs = (dogs[:, None] > cats[None, :]) + 0.5 * (dogs[:, None] == cats[None, :])
    assert metrics.roc_auc(scores, labels) == pytest.approx(pairs.mean())
    assert metrics.roc_auc(np.full(300, 0.5), labels) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_auc([0.2, 0.3], [1, 1])


def test_point_biserial_is_pearson_and_predicts_auc_for_normal_scores():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 20000)
    scores = rng.normal(size=labels.size) + 0.8 * labels  # d = 0.8
    scores = (scores - scores.min()) / np.ptp(scores)  # into [0, 1]: r and AUC unchanged
    r = metrics.point_biserial_correlation(scores, labels)
    assert r == metrics.pearson_correlation(scores, labels)
    assert metrics.auc_from_point_biserial(r) == pytest.approx(
        metrics.roc_auc(scores, labels), abs=0.01
    )
    # Phi(0.8 / sqrt 2) = 0.714
    assert metrics.auc_from_point_biserial(0.8 / math.sqrt(0.8**2 + 4)) == pytest.approx(
        0.7141, abs=1e-3
    )
    with pytest.raises(ValueError, match="0 or 1"):
        metrics.point_biserial_correlation([0.1, 0.2], [0, 2])


def test_paired_comparison_counts_disagreements_and_gives_the_exact_mcnemar_p_value():
    first = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 1], dtype=bool)
    second = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1], dtype=bool)
    result = metrics.paired_comparison(first, second)
    assert (result.only_first, result.only_second) == (7, 1)
    # exact two-sided binomial(8, 1/2): 2 * P(X <= 1) = 2 * 9 / 256
    assert result.p_value == pytest.approx(18 / 256)
    assert not result.first_better  # 7 to 1 is not enough at 5%
    assert result.verdict == "tied"
    many = metrics.paired_comparison(np.r_[first, first], np.r_[second, second])
    assert many.first_better and many.p_value < 0.05 and many.verdict == "better"
    assert metrics.paired_comparison(np.r_[second, second], np.r_[first, first]).verdict == "worse"
    same = metrics.paired_comparison(first, first)
    assert (same.only_first, same.only_second, same.p_value) == (0, 0, 1.0)
    assert metrics.paired_comparison(second, first).p_value == pytest.approx(result.p_value)


@pytest.mark.parametrize(
    "first, second", [([1, 0], [1]), ([], []), ([0.5, 1], [1, 1]), ([[1]], [[1]])]
)
def test_paired_comparison_refuses_unpaired_or_non_boolean_flags(first, second):
    with pytest.raises(ValueError, match="flag"):
        metrics.paired_comparison(first, second)


def test_p_value_text_reads_as_prose():
    assert metrics.p_value_text(2.3e-6) == "p < 0.001"
    assert metrics.p_value_text(0.0544) == "p = 0.054"
    assert metrics.p_value_text(1.0) == "p = 1"
    assert metrics.p_value_text(2.3e-6, named=False) == "< 0.001"
    assert metrics.p_value_text(0.0544, named=False) == "0.054"


def test_flags_round_trip_through_their_text_and_refuse_other_characters():
    flags = np.array([True, False, False, True])
    assert metrics.flags_text(flags) == "1001" and metrics.flags_text([1, 0]) == "10"
    assert np.array_equal(metrics.flags_from_text(metrics.flags_text(flags)), flags)
    for bad in ("10x1", "", [1, 0]):
        with pytest.raises(ValueError, match="0s and 1s"):
            metrics.flags_from_text(bad)
    for bad in (["0", "1"], [0.4, 0], "1001", [[1, 0]]):
        with pytest.raises(ValueError, match="one flag per example"):
            metrics.flags_text(bad)

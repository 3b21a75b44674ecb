"""How good are a classifier's scores? Mean squared error, correlation, best threshold.

A network with a sigmoid output gives each photo a score between 0 and 1 (0 for cat, 1
for dog, say). These three numbers judge the scores against the 0/1 labels (scores
outside [0, 1], logits, and labels other than 0 and 1 are refused with a clear error):

- ``mean_squared_error``: the average of (score - label)^2; a network that always
  answers 0.5 scores 0.25;
- ``pearson_correlation``: how well the scores follow the labels, from -1 to 1; 0 means
  the scores tell nothing about the labels;
- ``threshold_sweep``: the accuracy obtained by calling "dog" every score above a
  threshold, for a sweep of thresholds; ``best_accuracy`` keeps the best of them.

For classifiers with many classes (the MNIST digits), ``confusion_matrix`` counts each
(true class, predicted class) pair and ``misclassified`` lists the examples it got wrong.

The cats-vs-dogs lab teaches each of them in full; the ladder (``cnnbook.ladder``) uses
these copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from cnnbook.checks import check_positive_int

DEFAULT_NUM_THRESHOLDS = 10
SCORE_TOLERANCE = 1e-6  # float32 rounding may step just past 0 or 1


def _scores_and_labels(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both as flat float64 arrays of the same, non-zero length; ValueError otherwise."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    # A Keras model predicts shape (N, 1); the labels are (N,). Both mean N values.
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if scores.ndim != 1 or labels.ndim != 1 or scores.shape != labels.shape:
        raise ValueError(
            f"scores and labels must hold one value per example, as (N,) or (N, 1) arrays "
            f"of the same N; got scores of shape {scores.shape} and labels of shape "
            f"{labels.shape}"
        )
    if scores.size == 0:
        raise ValueError("scores and labels are empty: there is nothing to measure")
    if not np.all(np.isfinite(scores)):
        raise ValueError(
            f"{int(np.sum(~np.isfinite(scores)))} of the {scores.size} scores are NaN or "
            "infinite: the model diverged; lower the learning rate"
        )
    low, high = scores.min(), scores.max()
    if low < -SCORE_TOLERANCE or high > 1 + SCORE_TOLERANCE:
        raise ValueError(
            f"scores must be probabilities in [0, 1]; got values from {low:g} to {high:g}. "
            "These look like logits (a last layer without activation): give the model a "
            "sigmoid output, or pass keras.activations.sigmoid(scores)."
        )
    return scores, _binary(labels)


def _binary(labels: np.ndarray) -> np.ndarray:
    """The labels, if each is 0 or 1; a ValueError that says what they are otherwise."""
    if not np.all(np.isfinite(labels)):
        raise ValueError(
            f"{int(np.sum(~np.isfinite(labels)))} of the {labels.size} labels are NaN or "
            "infinite; each label must be 0 or 1 (cat or dog)"
        )
    values = np.unique(labels)
    if not np.all(np.isin(values, (0.0, 1.0))):
        hint = " (8-bit pixel values? labels 0/255: divide by 255)" if values.max() == 255 else ""
        raise ValueError(f"labels must be 0 or 1; got the values {values[:10].tolist()}{hint}")
    return labels


def mean_squared_error(scores: ArrayLike, labels: ArrayLike) -> float:
    """The mean of (score - label)^2 over all examples."""
    scores, labels = _scores_and_labels(scores, labels)
    return float(np.mean((scores - labels) ** 2))


def pearson_correlation(scores: ArrayLike, labels: ArrayLike) -> float:
    """Pearson's correlation between scores and labels, in [-1, 1].

    It is NaN when the scores (or the labels) are all the same: a constant says nothing
    about the labels, and the correlation is undefined.
    """
    scores, labels = _scores_and_labels(scores, labels)
    centred_scores = scores - scores.mean()
    centred_labels = labels - labels.mean()
    spread = np.sqrt(np.sum(centred_scores**2) * np.sum(centred_labels**2))
    if spread == 0.0:
        return float("nan")
    return float(np.sum(centred_scores * centred_labels) / spread)


def sweep_thresholds(num_thresholds: int = DEFAULT_NUM_THRESHOLDS) -> np.ndarray:
    """``num_thresholds`` thresholds evenly spaced from 0: 0.0, 0.1, ..., 0.9 for 10.

    With an even number of thresholds the usual 0.5 is among them, so the best accuracy
    of the sweep is never below the accuracy at 0.5; the threshold 0.0 calls every
    photo a dog and gives the share of dogs, the accuracy of not looking at all.
    """
    num_thresholds = check_positive_int(num_thresholds, "num_thresholds", "how many thresholds")
    return np.arange(num_thresholds) / num_thresholds


def correct_calls(scores: ArrayLike, labels: ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """One flag per example: its call (score > threshold) matches its 0/1 label."""
    scores, labels = _scores_and_labels(scores, labels)
    return (scores > threshold) == (labels == 1.0)


def accuracy_at(scores: ArrayLike, labels: ArrayLike, threshold: float = 0.5) -> float:
    """The fraction of examples whose call (score > threshold) matches the 0/1 label."""
    return float(np.mean(correct_calls(scores, labels, threshold)))


@dataclass(frozen=True)
class ThresholdSweep:
    """Accuracies over a sweep of thresholds and the best of them."""

    thresholds: np.ndarray
    accuracies: np.ndarray

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.accuracies))

    @property
    def best_accuracy(self) -> float:
        return float(self.accuracies[self.best_index])

    @property
    def best_threshold(self) -> float:
        return float(self.thresholds[self.best_index])


def threshold_sweep(
    scores: ArrayLike, labels: ArrayLike, num_thresholds: int = DEFAULT_NUM_THRESHOLDS
) -> ThresholdSweep:
    """The accuracy at each of ``num_thresholds`` thresholds (see ``sweep_thresholds``).

    The best threshold is chosen on the same examples it is measured on, so the best
    accuracy is a little optimistic; with a sweep of ten thresholds, only a little.
    """
    scores, labels = _scores_and_labels(scores, labels)
    thresholds = sweep_thresholds(num_thresholds)
    calls = scores[None, :] > thresholds[:, None]
    accuracies = np.mean(calls == (labels[None, :] == 1.0), axis=1)
    return ThresholdSweep(thresholds=thresholds, accuracies=accuracies)


def best_accuracy(
    scores: ArrayLike, labels: ArrayLike, num_thresholds: int = DEFAULT_NUM_THRESHOLDS
) -> float:
    """The best accuracy over a sweep of ``num_thresholds`` thresholds."""
    return threshold_sweep(scores, labels, num_thresholds).best_accuracy


# --------------------------------------------------------------------------- many classes
def confusion_matrix(
    labels: ArrayLike, predictions: ArrayLike, num_classes: int = 10
) -> np.ndarray:
    """Counts of (true class, predicted class): row ``i``, column ``j`` counts the examples
    of class ``i`` that the model called ``j``. The diagonal holds the correct answers."""
    num_classes = check_positive_int(num_classes, "num_classes", "how many classes")
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.ndim != 1 or labels.shape != predictions.shape:
        raise ValueError(
            f"labels and predictions must be flat arrays of the same length; got shapes "
            f"{labels.shape} and {predictions.shape} (take argmax(axis=1) of the "
            "probabilities first)"
        )
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (
            not np.issubdtype(values.dtype, np.integer)
            or values.min() < 0
            or values.max() >= num_classes
        ):
            raise ValueError(
                f"{name} must be integers in [0, {num_classes - 1}]; got "
                f"{values.dtype} values from {values.min()} to {values.max()}"
            )
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def misclassified(labels: ArrayLike, predictions: ArrayLike) -> np.ndarray:
    """Indices of the examples whose predicted class differs from the label."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ")
    return np.flatnonzero(labels != predictions)


# --------------------------------------------------------------------------- uncertainty
def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion: ``successes`` right out of ``n``.

    At a few hundred photos an accuracy is uncertain by several points. The Wilson
    interval is the range of true accuracies that a test at this ``confidence`` would
    not reject given the count; unlike "p +- 1.96 standard errors" it stays inside
    [0, 1] and behaves near 0 and 1.
    """
    from statistics import NormalDist

    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number of at least 1, not {n!r}")
    if int(successes) != successes or not 0 <= successes <= n:
        raise ValueError(f"successes must be a whole number from 0 to n={n}, not {successes!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half_width = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return float(max(0.0, centre - half_width)), float(min(1.0, centre + half_width))


def accuracy_interval(accuracy: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson interval of an accuracy measured on ``n`` examples."""
    return wilson_interval(round(accuracy * n), n, confidence)


#: The level at which the book calls a paired difference real rather than chance.
SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class PairedComparison:
    """Two classifiers scored on the same examples: who got which right (McNemar)."""

    only_first: int  # examples the first got right and the second wrong
    only_second: int  # the reverse
    p_value: float  # exact two-sided McNemar test: no difference, given these counts

    @property
    def verdict(self) -> str:
        """The first against the second: "better" or "worse" when the paired test says
        so at ``SIGNIFICANCE_LEVEL``, else "tied"."""
        if self.p_value >= SIGNIFICANCE_LEVEL:
            return "tied"
        return "better" if self.only_first > self.only_second else "worse"

    @property
    def first_better(self) -> bool:
        """The first is right more often, beyond chance at ``SIGNIFICANCE_LEVEL``."""
        return self.verdict == "better"


def paired_comparison(correct_first: ArrayLike, correct_second: ArrayLike) -> PairedComparison:
    """Compare two classifiers on the *same* test examples, one right/wrong flag each.

    Two accuracies with overlapping intervals may still differ: on shared examples,
    only the examples where the two disagree tell them apart. If the classifiers were
    equally good, each disagreement would go either way with probability one half, so
    the count ``only_first`` out of ``only_first + only_second`` is binomial(n, 1/2).
    The p-value is the exact two-sided binomial probability of a split at least this
    uneven (McNemar's exact test).
    """
    from math import comb

    first = np.asarray(correct_first)
    second = np.asarray(correct_second)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError(
            "give one right/wrong flag per example for each classifier, on the same "
            f"examples in the same order; got shapes {first.shape} and {second.shape}"
        )
    for flags in (first, second):
        if not np.all(np.isin(flags, (0, 1))):
            raise ValueError("the flags must be booleans (or 0/1): right or wrong")
    first, second = first.astype(bool), second.astype(bool)
    only_first = int(np.sum(first & ~second))
    only_second = int(np.sum(~first & second))
    n, k = only_first + only_second, min(only_first, only_second)
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n if n else 1.0
    return PairedComparison(only_first, only_second, float(min(1.0, 2 * tail)))


def p_value_text(p_value: float, named: bool = True) -> str:
    """A p-value as prose gives it: "p < 0.001" below a thousandth, else two digits
    ("p = 0.054"); without the "p" when not ``named`` ("< 0.001", "0.054"), for a table."""
    value = "< 0.001" if p_value < 0.001 else f"{p_value:.2g}"
    if not named:
        return value
    return f"p {value}" if value.startswith("<") else f"p = {value}"


def flags_text(correct: ArrayLike) -> str:
    """Per-example right/wrong flags (booleans or 0/1) as a compact string of 1s and 0s,
    for a JSON file."""
    flags = np.asarray(correct)
    if flags.ndim != 1 or flags.dtype.kind not in "biu" or not np.all(np.isin(flags, (0, 1))):
        raise ValueError(f"give one flag per example, True/False or 0/1, not {correct!r:.40}")
    return "".join("1" if right else "0" for right in flags)


def flags_from_text(text: str) -> np.ndarray:
    """The right/wrong flags that ``flags_text`` wrote, as booleans."""
    if not isinstance(text, str) or not text or set(text) - {"0", "1"}:
        raise ValueError(f"flags are a string of 0s and 1s, not {text!r:.40}")
    return np.array([flag == "1" for flag in text], dtype=bool)


# --------------------------------------------------------------------------- ranking
def roc_curve(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, and the thresholds.

    A photo is called a dog when its score is at least the threshold. The curve starts
    at (0, 0) (threshold +inf: nothing called a dog) and ends at (1, 1).
    """
    scores, labels = _scores_and_labels(scores, labels)
    labels = _binary(labels)
    positives, negatives = labels.sum(), (1 - labels).sum()
    if positives == 0 or negatives == 0:
        raise ValueError("the ROC curve needs both classes among the labels")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # the last index of each run of equal scores: ties move the curve diagonally
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    true_positives = np.cumsum(sorted_labels)[last]
    false_positives = (last + 1) - true_positives
    tpr = np.r_[0.0, true_positives / positives]
    fpr = np.r_[0.0, false_positives / negatives]
    return fpr, tpr, np.r_[np.inf, sorted_scores[last]]


def roc_auc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve: the chance that a random dog scores above a random cat
    (ties count one half). 0.5 is no better than guessing; 1 is a perfect ranking."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def point_biserial_correlation(scores: ArrayLike, labels: ArrayLike) -> float:
    """Pearson's correlation when one variable is binary: the point-biserial correlation.

    It equals ``pearson_correlation`` (the same formula) and depends on how far apart the
    two classes' mean scores are, in units of the scores' spread. The AUC depends only on
    the order of the scores; for two normal score distributions of equal spread the two
    are tied by ``auc_from_point_biserial``.
    """
    _binary(_scores_and_labels(scores, labels)[1])
    return pearson_correlation(scores, labels)


def auc_from_point_biserial(r: float, share_positive: float = 0.5) -> float:
    """The AUC implied by a point-biserial ``r`` if both classes' scores were normal with
    the same spread: Cohen's d = r / sqrt(1 - r^2) / sqrt(p q), AUC = Phi(d / sqrt 2)."""
    from statistics import NormalDist

    if not -1.0 < r < 1.0:
        raise ValueError(f"r must be strictly between -1 and 1, not {r!r}")
    if not 0.0 < share_positive < 1.0:
        raise ValueError(f"share_positive must be between 0 and 1, not {share_positive!r}")
    d = r / np.sqrt(1 - r**2) / np.sqrt(share_positive * (1 - share_positive))
    return float(NormalDist().cdf(d / np.sqrt(2)))

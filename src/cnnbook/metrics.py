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


def accuracy_at(scores: ArrayLike, labels: ArrayLike, threshold: float = 0.5) -> float:
    """The fraction of examples whose call (score > threshold) matches the 0/1 label."""
    scores, labels = _scores_and_labels(scores, labels)
    return float(np.mean((scores > threshold) == (labels == 1.0)))


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

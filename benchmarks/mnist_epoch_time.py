"""Seconds per epoch of the book's MNIST training against the plain source code.

    python benchmarks/mnist_epoch_time.py                 # 2 rounds, order alternating
    python benchmarks/mnist_epoch_time.py --rounds 3 --no-determinism-run
    python benchmarks/mnist_epoch_time.py --accuracy-seeds 1 2 3   # accuracy over seeds too
    python benchmarks/mnist_epoch_time.py --save benchmarks/results/mnist_epoch_time.txt

Two ways to train the same 104,202-parameter convnet for 2 epochs, rmsprop, batch 64:

- ``book``: what the lab runs, through ``cnnbook.mnist`` (``preprocess``,
  ``split_validation``, ``build_mnist_convnet``, ``train``), with the lab's defaults:
  55,000 training digits, validated on 5,000 held out of the training set;
- ``source``: the source tutorial's code, written out below: numpy arrays into
  ``model.fit`` on all 60,000 training digits, validated on the 10,000 test digits.

Each run is a fresh Python process (nothing cached between runs: graphs, seeds, op
determinism), seeded with the same seed; rounds alternate the order (book first, then
source first) because the machine is shared and its load drifts. Both evaluate on the
10,000 test digits at the end. Unless ``--no-determinism-run`` is given, one more book
run switches on ``tf.config.experimental.enable_op_determinism()`` (the lab's
``deterministic_ops`` parameter) to measure its cost.

An epoch's time is wall-clock from the start of the epoch to its end, validation pass
included, as Keras reports it; the training part alone and the images per second are
reported too, since the two train on different numbers of digits. On a shared machine
wall-clock time depends on what else runs, so the CPU time the process used in each
epoch (all its threads) is reported as well: it counts the work done, not the waiting. The book's repeated
runs also show whether training is repeatable: their test accuracies must agree to 0.002.

One seed says little about which of the two is more accurate: a different seed moves the
test accuracy by about as much as the two differ. ``--accuracy-seeds`` trains both once
more for each seed given and reports the test accuracies side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cnnbook import timing

VARIANTS = ("book", "source", "book-determinism")
SEED = 42
ACCURACY_TOLERANCE = 0.002
RATIO_GOAL = 1.05


def _stopwatch():
    """A Keras callback that times each epoch and, inside it, the validation pass."""
    import keras

    class Stopwatch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch_seconds: list[float] = []
            self.validation_seconds: list[float] = []
            self.epoch_cpu_seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch_start = time.perf_counter()
            self._epoch_cpu_start = time.process_time()
            self.validation_seconds.append(0.0)

        def on_test_begin(self, logs=None):
            self._test_start = time.perf_counter()

        def on_test_end(self, logs=None):
            self.validation_seconds[-1] += time.perf_counter() - self._test_start

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_seconds.append(time.perf_counter() - self._epoch_start)
            self.epoch_cpu_seconds.append(time.process_time() - self._epoch_cpu_start)

    return Stopwatch()


def run_book(seed: int, determinism: bool = False) -> dict:
    """The lab's training, through the package the lab checks itself against."""
    import tensorflow as tf

    import cnnbook
    from cnnbook import mnist
    from cnnbook.data import load_mnist

    if determinism:
        tf.config.experimental.enable_op_determinism()
    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    train_images, test_images = mnist.preprocess(train_images), mnist.preprocess(test_images)
    (train_images, train_labels), validation = mnist.split_validation(
        train_images, train_labels, num_validation=mnist.NUM_VALIDATION, seed=seed
    )
    cnnbook.set_seed(seed)
    model = mnist.build_mnist_convnet()
    stopwatch = _stopwatch()
    history = mnist.train(
        model,
        train_images,
        train_labels,
        validation,
        num_epochs=mnist.NUM_EPOCHS,
        batch_size=mnist.BATCH_SIZE,
        callbacks=[stopwatch],
        verbose=0,
    )
    _, test_accuracy = model.evaluate(test_images, test_labels, verbose=0)
    return _result(model, history, stopwatch, len(train_images), len(validation[0]), test_accuracy)


def run_source(seed: int) -> dict:
    """The source tutorial's code, seeded (the source is not) so that runs repeat."""
    import keras
    from keras import layers

    from cnnbook.data import load_mnist  # the same arrays as keras.datasets.mnist

    keras.utils.set_random_seed(seed)
    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    train_images = train_images.reshape((60000, 28, 28, 1)).astype("float32") / 255
    test_images = test_images.reshape((10000, 28, 28, 1)).astype("float32") / 255
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=128, kernel_size=3, activation="relu")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stopwatch = _stopwatch()
    history = model.fit(
        train_images,
        train_labels,
        epochs=2,
        batch_size=64,
        validation_data=(test_images, test_labels),
        callbacks=[stopwatch],
        verbose=0,
    )
    _, test_accuracy = model.evaluate(test_images, test_labels, verbose=0)
    return _result(model, history, stopwatch, len(train_images), len(test_images), test_accuracy)


def _result(
    model, history, stopwatch, num_train: int, num_validation: int, test_accuracy: float
) -> dict:
    epochs = stopwatch.epoch_seconds
    training = [e - v for e, v in zip(epochs, stopwatch.validation_seconds)]
    return {
        "parameters": int(model.count_params()),
        "num_train": num_train,
        "num_validation": num_validation,
        "epoch_seconds": epochs,
        "epoch_cpu_seconds": stopwatch.epoch_cpu_seconds,
        "training_seconds": training,
        "validation_seconds": stopwatch.validation_seconds,
        "val_accuracy": [float(v) for v in history.history["val_accuracy"]],
        "test_accuracy": float(test_accuracy),
    }


def worker(variant: str, seed: int) -> int:
    if variant == "source":
        result = run_source(seed)
    else:
        result = run_book(seed, determinism=variant == "book-determinism")
    print("RESULT " + json.dumps(result))
    return 0


# --------------------------------------------------------------------------- driver
def run_in_fresh_process(variant: str, seed: int) -> dict:
    load_before = timing.load_average()
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", variant, "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the {variant} run failed:\n{completed.stderr[-4000:]}")
    line = next(x for x in completed.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result.update(
        variant=variant,
        wall_seconds=time.perf_counter() - start,
        load_before=load_before,
        load_after=timing.load_average(),
    )
    return result


def _mean(values) -> float:
    return sum(values) / len(values)


def report(runs: list[dict], seed: int, seed_runs: list[dict] = ()) -> str:
    lines = [
        "MNIST convnet: seconds per epoch, the book's training against the source code",
        timing.environment_line(),
        (
            f"2 epochs, batch 64, rmsprop, seed {seed}, each run in a fresh process; the CPUs "
            "are shared with other work (load = 1-minute load average before/after a run)"
        ),
        "",
        (
            f"{'run':4s} {'variant':17s} {'train':>6s} {'val':>6s} {'epoch 1':>8s} "
            f"{'epoch 2':>8s} {'mean':>7s} {'cpu':>6s} {'train only':>10s} {'img/s':>6s} {'test acc':>8s} "
            f"{'load':>9s}"
        ),
    ]
    for index, run in enumerate(runs, 1):
        epochs = run["epoch_seconds"]
        images_per_second = run["num_train"] / _mean(run["training_seconds"])
        lines.append(
            f"{index:<4d} {run['variant']:17s} {run['num_train']:6d} {run['num_validation']:6d} "
            f"{epochs[0]:8.1f} {epochs[-1]:8.1f} {_mean(epochs):7.1f} "
            f"{_mean(run['epoch_cpu_seconds']):6.1f} "
            f"{_mean(run['training_seconds']):10.1f} {images_per_second:6.0f} "
            f"{run['test_accuracy']:8.4f} {run['load_before']:4.1f}/{run['load_after']:<4.1f}"
        )
    lines.append(
        "(seconds per epoch; 'cpu': CPU seconds of the process per epoch; 'train only' "
        "leaves out the validation pass inside each epoch)"
    )

    def of(variant):
        return [r for r in runs if r["variant"] == variant]

    book, source = of("book"), of("source")
    book_epoch = _mean([_mean(r["epoch_seconds"]) for r in book])
    source_epoch = _mean([_mean(r["epoch_seconds"]) for r in source])
    book_rate = _mean([r["num_train"] / _mean(r["training_seconds"]) for r in book])
    source_rate = _mean([r["num_train"] / _mean(r["training_seconds"]) for r in source])
    ratio = book_epoch / source_epoch
    cpu_ratio = _mean([_mean(r["epoch_cpu_seconds"]) for r in book]) / _mean(
        [_mean(r["epoch_cpu_seconds"]) for r in source]
    )
    per_round = [
        b / s
        for b, s in zip(
            [_mean(r["epoch_seconds"]) for r in book], [_mean(r["epoch_seconds"]) for r in source]
        )
    ]
    book_accuracy = [r["test_accuracy"] for r in book]
    source_accuracy = [r["test_accuracy"] for r in source]
    spread = max(book_accuracy) - min(book_accuracy)
    lines += [
        "",
        (
            f"seconds per epoch, book / source: {ratio:.3f} (per round: "
            f"{', '.join(f'{x:.3f}' for x in per_round)})   goal: at most {RATIO_GOAL} -> "
            f"{'met' if ratio <= RATIO_GOAL else 'NOT met'}"
        ),
        f"CPU seconds per epoch, book / source: {cpu_ratio:.3f}",
        (
            f"training images per second, book / source: {book_rate / source_rate:.3f} "
            "(same model and batch size: this is the pipeline's own cost)"
        ),
        (
            f"test accuracy, book: {', '.join(f'{a:.4f}' for a in book_accuracy)}; source: "
            f"{', '.join(f'{a:.4f}' for a in source_accuracy)}   goal: book at least as "
            f"accurate -> {'met' if min(book_accuracy) >= max(source_accuracy) else 'NOT met'}"
        ),
    ]
    if len(book) > 1:
        lines.append(
            f"repeatability: the {len(book)} book runs differ by {spread:.4f} in test accuracy "
            f"(goal: at most {ACCURACY_TOLERANCE}) -> "
            f"{'met' if spread <= ACCURACY_TOLERANCE else 'NOT met'}"
            + (
                "; bit-identical histories"
                if all(
                    r["val_accuracy"] == book[0]["val_accuracy"]
                    and r["test_accuracy"] == book[0]["test_accuracy"]
                    for r in book
                )
                else ""
            )
        )
    strict = of("book-determinism")
    if strict:
        cost = _mean([_mean(r["epoch_seconds"]) for r in strict]) / book_epoch
        cpu_cost = _mean([_mean(r["epoch_cpu_seconds"]) for r in strict]) / _mean(
            [_mean(r["epoch_cpu_seconds"]) for r in book]
        )
        same = all(r["test_accuracy"] == book[0]["test_accuracy"] for r in strict)
        lines.append(
            f"enable_op_determinism() costs {cost:.2f}x the seconds per epoch "
            f"({cpu_cost:.2f}x the CPU seconds) of the book's runs without it; test "
            f"accuracy with it: {strict[0]['test_accuracy']:.4f} "
            f"({'the same' if same else 'a different run, not a worse one'})"
        )
    if seed_runs:
        lines += [
            "",
            f"test accuracy over seeds (one run each; the timing runs above used seed {seed}):",
            f"{'seed':>6s} {'book':>8s} {'source':>8s} {'book - source':>14s}",
        ]
        by_seed = {}
        for run in seed_runs:
            by_seed.setdefault(run["seed"], {})[run["variant"]] = run["test_accuracy"]
        by_seed.setdefault(seed, {"book": book_accuracy[0], "source": source_accuracy[0]})
        for each, pair in sorted(by_seed.items()):
            lines.append(
                f"{each:6d} {pair['book']:8.4f} {pair['source']:8.4f} "
                f"{pair['book'] - pair['source']:+14.4f}"
            )
        book_mean = _mean([pair["book"] for pair in by_seed.values()])
        source_mean = _mean([pair["source"] for pair in by_seed.values()])
        lines.append(
            f"{'mean':>6s} {book_mean:8.4f} {source_mean:8.4f} {book_mean - source_mean:+14.4f}"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="rounds of (book, source), order alternating (default 2)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--no-determinism-run",
        dest="determinism_run",
        action="store_false",
        help="skip the extra book run with enable_op_determinism()",
    )
    parser.add_argument(
        "--accuracy-seeds",
        type=int,
        nargs="*",
        default=[],
        help="more seeds: one book and one source run each, for accuracy",
    )
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.seed)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not os.environ.get("CNNBOOK_DATA"):
        print(
            "note: CNNBOOK_DATA is unset; MNIST comes from the cache or a download", file=sys.stderr
        )
    runs = []
    for round_index in range(args.rounds):
        order = ("book", "source") if round_index % 2 == 0 else ("source", "book")
        for variant in order:
            print(f"round {round_index + 1}: {variant} ...", file=sys.stderr, flush=True)
            runs.append(run_in_fresh_process(variant, args.seed))
    if args.determinism_run:
        print("book with enable_op_determinism() ...", file=sys.stderr, flush=True)
        runs.append(run_in_fresh_process("book-determinism", args.seed))
    seed_runs = []
    for extra_seed in args.accuracy_seeds:
        for variant in ("book", "source"):
            print(f"seed {extra_seed}: {variant} ...", file=sys.stderr, flush=True)
            seed_runs.append(run_in_fresh_process(variant, extra_seed) | {"seed": extra_seed})
    text = report(runs, args.seed, seed_runs)
    timing.publish_report(text, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())

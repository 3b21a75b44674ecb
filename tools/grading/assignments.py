"""The teacher's checks of each assignment: probes with fresh inputs, marks from the reference.

``plan_for(name, rng)`` returns the :class:`~grading.plan.Plan` of one submission: the
random inputs come from ``rng``, seeded per submission from a secret, so no two students
get the same cases and no answer can be typed in advance. The points of each question's
checks add up to the question's ``points`` in the assignment's source (a test checks it).
Which modules a question forbids (its reference code) is in ``FORBIDDEN``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .plan import Answers, Plan, WrongAnswer, expect, expect_close

#: Modules an answer must not use, per assignment and question ("*": every question):
#: the book's reference, or a library that does the question's work. Found by
#: grading.flags in the student's own cells; listed for the teacher.
HAND_CONVOLUTION = (
    "cnnbook.ops",
    "tensorflow",
    "keras",
    "torch",
    "scipy.signal",
    "scipy.ndimage",
    "jax",
    "skimage",
)
FORBIDDEN: dict[str, dict[str, tuple[str, ...]]] = {
    "01_convolution": {"*": HAND_CONVOLUTION},
    "02_edge_filters": {"q1": HAND_CONVOLUTION},  # "without running a convolution"
    "03_max_pooling": {"*": HAND_CONVOLUTION},
    "04_mnist": {"q1": ("cnnbook.mnist", "keras")},  # "without asking Keras"
    "05_cats_vs_dogs": {"q1": ("cnnbook.metrics", "sklearn.metrics")},  # "without metrics"
}


# --------------------------------------------------------------------------- by hand
def by_hand_question(
    plan: Plan, question: str, expected: dict[str, np.ndarray], atol: float = 1e-6
) -> None:
    """A question whose answers are arrays worked out by hand, named as in the handout:
    0.5 points for their shapes, 1.5 for their values (``atol=0``: exact)."""
    probes = {name: plan.value(name) for name in expected}

    @plan.check(question, 0.5, "shapes")
    def _(answers: Answers):
        for name, value in expected.items():
            answers.array(probes[name], np.shape(value))

    @plan.check(question, 1.5, "values")
    def _(answers: Answers):
        for name, value in expected.items():
            expect_close(answers.array(probes[name]), value, name, atol)


# --------------------------------------------------------------------------- 01
def plan_01(rng: np.random.Generator) -> Plan:
    from cnnbook import ops

    plan = Plan()
    image = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]])
    kernel = np.array([[1, 0], [0, -1]])
    by_hand_question(
        plan,
        "q1",
        {
            "valid_by_hand": ops.conv2d(image, kernel),
            "strided_by_hand": ops.conv2d(image, kernel, stride=2),
        },
        atol=0,
    )

    sizes, same_pad = plan.value("sizes"), plan.value("same_pad")

    @plan.check("q2", 0.5, "form")
    def _(answers: Answers):
        answers.array(sizes, (3,)), answers.array(same_pad, (2,))
        expect(answers.array(sizes)[0] == 24, "layer 1 should give 24")

    @plan.check("q2", 1.5, "sizes")
    def _(answers: Answers):
        first = ops.output_size(28, 5, 1, "valid")
        second = ops.output_size(first, 3, 2, "same")
        third = ops.output_size(second, 3, 2, "valid")
        expect_close(answers.array(sizes, (3,)), [first, second, third], "sizes", 0)
        expect_close(answers.array(same_pad, (2,)), ops.same_padding(first, 3, 2), "same_pad", 0)

    small = plan.call("conv2d", image.astype(float), kernel.astype(float))
    same_shape = plan.call("conv2d", np.ones((5, 7)), np.ones((3, 3)), padding="same")

    @plan.check("q3", 1.0, "the example")
    def _(answers: Answers):
        expect_close(answers.array(small), ops.conv2d(image, kernel), "conv2d(image, kernel)")
        expect(answers.array(same_shape).shape == (5, 7), "'same' with stride 1 keeps the shape")

    for padding, count, points in (("valid", 4, 1.0), ("same", 5, 1.5)):
        cases = []
        for _case in range(count):
            rows, cols = rng.integers(5, 14, size=2)
            k_rows, k_cols = rng.integers(1, 6, size=2)
            stride = int(rng.integers(1, 4))
            case_image = rng.normal(size=(rows, cols))
            case_kernel = rng.normal(size=(k_rows, k_cols))
            probe = plan.call("conv2d", case_image, case_kernel, stride=stride, padding=padding)
            expected = ops.conv2d(case_image, case_kernel, stride=stride, padding=padding)
            what = f"{padding}, {rows}x{cols} image, {k_rows}x{k_cols} kernel, stride {stride}"
            cases.append((probe, expected, what))
        plan.check("q3", points, f"random {padding} cases")(_all_close(cases))

    bad_name = str(rng.choice(["full", "causal", "reflect", "circular"]))
    bad = plan.call("conv2d", np.ones((4, 4)), np.ones((2, 2)), padding=bad_name)

    @plan.check("q3", 0.5, "bad padding")
    def _(answers: Answers):
        error = answers.error(bad)
        expect(
            error is not None and error[0] == "ValueError",
            f"padding={bad_name!r} should raise a ValueError",
        )
        expect(bad_name in error[1], "the ValueError should name the padding it got")

    return plan


def _all_close(cases) -> Callable[[Answers], None]:
    def mark(answers: Answers):
        for probe, expected, what in cases:
            expect_close(answers.array(probe), expected, what, atol=1e-9)

    return mark


# --------------------------------------------------------------------------- 02
def _strongest(kernel: np.ndarray, image: np.ndarray) -> float:
    from cnnbook import ops

    return float(np.abs(ops.conv2d(image.astype(float), kernel)).max())


def plan_02(rng: np.random.Generator) -> Plan:
    from cnnbook import kernels, ops

    plan = Plan()
    step = np.array([[0, 0, 1, 1, 1]] * 5, dtype=float)
    by_hand_question(
        plan,
        "q1",
        {
            "vertical_response": ops.conv2d(step, kernels.VERTICAL_EDGE),
            "horizontal_response": ops.conv2d(step, kernels.HORIZONTAL_EDGE),
        },
    )

    diagonal = plan.value("diagonal_kernel")

    def diagonal_kernel(answers: Answers) -> np.ndarray:
        kernel = answers.array(diagonal)
        expect(
            kernel.ndim == 2 and max(kernel.shape) <= 5 and min(kernel.shape) >= 1,
            f"diagonal_kernel must be 2-D, at most 5x5, not {kernel.shape}",
        )
        return kernel

    @plan.check("q2", 1.0, "shape, flat image")
    def _(answers: Answers):
        kernel = diagonal_kernel(answers)
        size = np.abs(kernel).sum()
        expect(size > 0, "diagonal_kernel is all zeros")
        expect(abs(kernel.sum()) <= 1e-6 * size, "a flat image gives a response")

    size = int(rng.integers(26, 36))
    offsets = rng.integers(-5, 6, size=4)

    @plan.check("q2", 1.0, "synthetic edges")
    def _(answers: Answers):
        kernel = diagonal_kernel(answers)
        rows, cols = np.mgrid[0:size, 0:size]
        half = size // 2
        diagonal_response = max(
            _strongest(kernel, rows > cols + offsets[0]),
            _strongest(kernel, rows + cols > size + offsets[1]),
        )
        upright = max(
            _strongest(kernel, cols >= half + offsets[2]),
            _strongest(kernel, rows >= half + offsets[3]),
        )
        expect(diagonal_response > 0, "no response at all on diagonal edges")
        expect(
            upright <= 0.05 * diagonal_response,
            f"answers {upright:.3g} on upright edges, {diagonal_response:.3g} on diagonal ones",
        )

    @plan.check("q2", 1.0, "the kittens")
    def _(answers: Answers):
        ratio = kittens_diagonal_ratio(diagonal_kernel(answers))
        expect(
            ratio >= 1.3,
            f"on the kittens it answers {ratio:.2f} times as much on "
            "diagonal edges as on upright ones; it should be at least 1.3",
        )

    combined = plan.value("combined_kernel")
    images = [rng.normal(size=tuple(rng.integers(9, 31, size=2))) for _ in range(3)]

    @plan.check("q3", 0.5, "shape")
    def _(answers: Answers):
        answers.array(combined, (5, 5))

    @plan.check("q3", 1.5, "same as two layers")
    def _(answers: Answers):
        kernel = answers.array(combined, (5, 5))
        for image in images:
            two_layers = ops.conv2d(ops.conv2d(image, kernels.SOBEL_X), kernels.SOBEL_Y)
            expect_close(
                ops.conv2d(image, kernel), two_layers, f"on a random {image.shape} image", atol=1e-6
            )

    return plan


def kittens_diagonal_ratio(kernel: np.ndarray) -> float:
    """How much more ``kernel`` answers on the kittens' diagonal edges than on upright ones."""
    from cnnbook import kernels, ops
    from cnnbook.data import load_kittens

    kittens = load_kittens()
    gx = ops.conv2d(kittens, kernels.SOBEL_X, padding="same")
    gy = ops.conv2d(kittens, kernels.SOBEL_Y, padding="same")
    strength = np.hypot(gx, gy)
    strong = strength >= np.quantile(strength, 0.9)
    angle = np.degrees(np.arctan2(gy, gx)) % 180

    def near(degrees):
        return strong & (np.abs((angle - degrees + 90) % 180 - 90) < 15)

    response = np.abs(ops.conv2d(kittens, kernel, padding="same"))
    upright = response[near(0) | near(90)].mean()
    return float(max(response[near(45)].mean(), response[near(135)].mean()) / upright)


# --------------------------------------------------------------------------- 03
def max_pool_backward_reference(x, upstream, size, stride) -> np.ndarray:
    """The gradient by finite differences (exact: values at least 1 apart, step 0.25)."""
    from cnnbook import ops

    def loss(values):
        return np.sum(upstream * ops.max_pool2d(values, size, stride))

    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 0.25
        numeric[index] = (loss(x + step) - loss(x - step)) / 0.5
    return numeric


def plan_03(rng: np.random.Generator) -> Plan:
    from cnnbook import ops

    plan = Plan()
    x = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [0, 2, 9, 8], [7, 1, 3, 4]], dtype=float)
    by_hand_question(
        plan,
        "q1",
        {"pooled_by_hand": ops.max_pool2d(x, 2, 2), "stride1_by_hand": ops.max_pool2d(x, 2, 1)},
        atol=0,
    )

    example = plan.call("max_pool2d", x)
    plan.check("q2", 1.0, "the example")(_all_close([(example, ops.max_pool2d(x, 2, 2), "x")]))
    cases = []
    for _case in range(6):
        size, stride = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        values = rng.normal(size=tuple(rng.integers(size, 12, size=2)))
        probe = plan.call("max_pool2d", values, size=size, stride=stride)
        cases.append(
            (
                probe,
                ops.max_pool2d(values, size, stride),
                f"{values.shape}, size {size}, stride {stride}",
            )
        )
    plan.check("q2", 1.0, "random cases")(_all_close(cases))
    negative = -1 - rng.random(tuple(rng.integers(6, 10, size=2)))
    probe = plan.call("max_pool2d", negative, size=3, stride=3)
    plan.check("q2", 1.0, "all negative")(
        _all_close([(probe, ops.max_pool2d(negative, 3, 3), "every value negative")])
    )

    ones = plan.call("max_pool2d_backward", x, np.ones((2, 2)))
    expected = np.zeros((4, 4))
    expected[1, 1] = expected[1, 2] = expected[2, 2] = expected[3, 0] = 1
    plan.check("q3", 1.0, "the example")(_all_close([(ones, expected, "x, upstream of ones")]))
    cases = []
    for size, stride in ((2, 2), (3, 2), (2, 1)):
        rows, cols = (int(n) for n in rng.integers(5, 10, size=2))
        values = rng.permutation(rows * cols).reshape(rows, cols).astype(float)
        upstream = rng.normal(size=ops.max_pool2d(values, size, stride).shape)
        probe = plan.call("max_pool2d_backward", values, upstream, size=size, stride=stride)
        cases.append(
            (
                probe,
                max_pool_backward_reference(values, upstream, size, stride),
                f"{values.shape}, size {size}, stride {stride}",
            )
        )
    plan.check("q3", 2.0, "finite differences")(_all_close(cases))
    return plan


# --------------------------------------------------------------------------- model questions
def model_question(
    plan: Plan,
    question: str,
    probe: str,
    load: Callable[[bytes], Any],
    build_check: tuple[float, str],
    train_check: tuple[float, str],
    train: Callable[[Any], None],
    seed: int,
) -> None:
    """The two checks of a question whose answer is a model the student's code builds.

    ``probe`` is the plan's ``plan.model(...)`` probe. The first check loads the saved
    model with ``load`` (within its budget, through ``models.load_model``: only
    layers, never the student's code) and checks it; the second trains a fresh copy of
    that architecture (new weights, seeded: nothing trained in the sandbox is kept) with
    ``train``, whose ``expect`` calls give the verdict.
    """

    @plan.check(question, *build_check)
    def _(answers: Answers):
        load(answers.model_file(probe))

    @plan.check(question, *train_check)
    def _(answers: Answers):
        import keras

        from .models import fresh_copy

        model = load(answers.model_file(probe))
        keras.utils.set_random_seed(seed)
        train(fresh_copy(model))


# --------------------------------------------------------------------------- 04
def plan_04(rng: np.random.Generator) -> Plan:
    plan = Plan()
    counts = plan.value("params_by_layer")
    layer_names = {"conv_1", "conv_2", "conv_3", "classifier"}

    def params(answers: Answers) -> dict:
        value = answers.value(counts)
        expect(
            isinstance(value, dict) and set(value) == layer_names,
            f"params_by_layer must be a dict with keys {sorted(layer_names)}",
        )
        expect(
            all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value.values()),
            "each value must be a positive whole number",
        )
        return value

    plan.check("q1", 0.5, "form")(params)

    @plan.check("q1", 1.5, "counts")
    def _(answers: Answers):
        from cnnbook import mnist

        model = mnist.build_mnist_convnet()
        for name, count in params(answers).items():
            expect(count == model.get_layer(name).count_params(), f"{name} is not {count}")

    def train_and_test(model) -> None:
        from cnnbook import mnist
        from cnnbook.data import load_mnist

        (train_images, train_labels), (test_images, test_labels) = load_mnist()
        # The handout's promise: trained with the book's recipe (rmsprop, batches of 64),
        # whatever optimizer the student compiled it with.
        model = mnist.compile_mnist_convnet(model)
        mnist.train(
            model,
            mnist.preprocess(train_images[:12_000]),
            train_labels[:12_000],
            num_epochs=2,
            verbose=0,
        )
        _, accuracy = model.evaluate(mnist.preprocess(test_images), test_labels, verbose=0)
        expect(accuracy >= 0.92, f"test accuracy {accuracy:.3f}; it needs at least 0.92")

    model_question(
        plan,
        "q2",
        plan.model("build_small_model"),
        small_model,
        (1.0, "shape and budget"),
        (3.0, "accuracy after short training"),
        train_and_test,
        seed=0,
    )
    return plan


#: Parameters a submitted model stays under, and multiply-adds per image the grader trains
#: at most (assignment 4, assignment 5).
MAX_PARAMS_04, MAX_MACS_04 = 20_000, 30_000_000
MAX_PARAMS_05, MAX_MACS_05 = 100_000, 300_000_000


def small_model(data: bytes):
    model = submitted_model(data, MAX_PARAMS_04, MAX_MACS_04, output_shape=(10,), what="the model")
    expect(tuple(model.input_shape[1:]) == (28, 28, 1), f"input {model.input_shape}")
    probabilities = np.asarray(model(np.zeros((2, 28, 28, 1), "float32")))
    expect(
        bool(np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)),
        "the outputs must be softmax probabilities",
    )
    return model


def submitted_model(
    data: bytes, max_params: int, max_macs: int, output_shape: tuple[int, ...], what: str
):
    """A student's saved model, loaded within its budget (``models.load_model`` refuses a
    larger one before building it), with the checks every model question makes: its
    output shape, at least one Conv2D layer, fewer than ``max_params`` parameters."""
    import keras

    from .models import load_model

    model = load_model(data, max_params=max_params, max_macs=max_macs)
    expect(
        tuple(model.output_shape[1:]) == output_shape,
        f"output {model.output_shape}, not (None, {', '.join(map(str, output_shape))})",
    )
    expect(
        any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers),
        f"{what} needs at least one Conv2D layer",
    )
    expect(model.count_params() < max_params, f"{model.count_params():,} parameters")
    return model


# --------------------------------------------------------------------------- 05
def plan_05(rng: np.random.Generator) -> Plan:
    from cnnbook import metrics

    plan = Plan()
    scores = np.array([0.55, 0.42, 0.38, 0.12, 0.47, 0.61, 0.33, 0.25, 0.44, 0.41])
    labels = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 0])
    names = ("mse", "accuracy_at_half", "best_threshold")
    probes = {name: plan.value(name) for name in names}

    @plan.check("q1", 0.5, "form")
    def _(answers: Answers):
        for name in names:
            value = answers.number(probes[name])
            expect(0 <= value <= 1, f"{name} = {value} is not between 0 and 1")

    @plan.check("q1", 1.5, "values")
    def _(answers: Answers):
        expected = {
            "mse": metrics.mean_squared_error(scores, labels),
            "accuracy_at_half": metrics.accuracy_at(scores, labels, 0.5),
            "best_threshold": metrics.threshold_sweep(scores, labels).best_threshold,
        }
        for name in names:
            expect(abs(answers.number(probes[name]) - expected[name]) < 1e-6, name)

    def train_a_little(model) -> None:
        from cnnbook import ladder, photos

        shape = (94, 125)
        train = photos.cats_and_dogs_photos("train", limit=64, seed=1)
        validation = photos.cats_and_dogs_photos("validation", limit=32, seed=1)
        train_data = photos.photo_dataset(
            train.paths, train.labels, shape, batch_size=16, shuffle=True, seed=1
        )
        validation_data = photos.photo_dataset(
            validation.paths, validation.labels, shape, batch_size=16
        )
        row = ladder.measure_rung(model, train_data, validation_data, num_epochs=6)
        losses = row["history"]["loss"]
        expect(bool(np.all(np.isfinite(losses))), f"the training loss is not finite: {losses}")
        expect(min(losses[1:]) < losses[0], f"the training loss never went down: {losses}")
        predicted, _ = ladder.predict_scores(model, validation_data)
        expect(bool(np.all((predicted >= 0) & (predicted <= 1))), "scores outside [0, 1]")

    model_question(
        plan,
        "q2",
        plan.model("build_my_rung", (94, 125, 3)),
        my_rung,
        (1.0, "builds"),
        (2.0, "trains on a small sample"),
        train_a_little,
        seed=1,
    )
    return plan


def my_rung(data: bytes):
    model = submitted_model(data, MAX_PARAMS_05, MAX_MACS_05, output_shape=(1,), what="the rung")
    expect(model.optimizer is not None and model.loss is not None, "the model is not compiled")
    return model


PLANS: dict[str, Callable[[np.random.Generator], Plan]] = {
    "01_convolution": plan_01,
    "02_edge_filters": plan_02,
    "03_max_pooling": plan_03,
    "04_mnist": plan_04,
    "05_cats_vs_dogs": plan_05,
}


def plan_for(name: str, rng: np.random.Generator) -> Plan:
    if name not in PLANS:
        raise ValueError(f"no grading plan for {name!r}; there are plans for {sorted(PLANS)}")
    return PLANS[name](rng)


__all__ = ["FORBIDDEN", "PLANS", "WrongAnswer", "plan_for"]

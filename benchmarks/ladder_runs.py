"""What the two ladder benchmarks share: the lab's recipe, run outside the book.

``ladder_seeds.py`` and ``ladder_ablation.py`` import this file (it sits beside them).
Each run trains one rung, or one variant of rung 6, exactly as the cats-vs-dogs lab does
(``cnnbook.ladder.build_for_budget``, under one of ``cnnbook.ladder.BUDGETS``: the fair
budget by default, every epoch trained and the epoch of lowest validation loss kept;
the page's with ``--budget page``, with early stopping; the threshold chosen on
validation) and scores it on the
book's test split and, if given, on a folder of one's own laid out as
``{cats,dogs}/*.jpg``. With ``CNNBOOK_QUICK=1`` the sizes shrink to a smoke test.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import cnnbook  # noqa: E402
from cnnbook import data, ladder, metrics, photos, timing  # noqa: E402

LISTING_SEED = 42  # the lab's seed for listing the photos and counting their shapes
SHAPE_SAMPLE_SIZE = 300
TRAIN_EVAL_SIZE = 500  # training photos re-scored after each epoch, as the lab does


def photos_per_split() -> int | None:
    """All the photos (None), or quick mode's few."""
    return cnnbook.pick(None, 32)


def add_budget_argument(parser, default: str = ladder.FAIR_BUDGET.name) -> None:
    """``--budget``, shared by the two scripts."""
    parser.add_argument(
        "--budget",
        choices=sorted(ladder.BUDGETS),
        default=default,
        help=f"the training budget (default: {default}; "
        + "; ".join(f"{b.name}: {b.describe()}" for b in ladder.BUDGETS.values())
        + ")",
    )


@dataclass
class Photos:
    """The book's three checked splits and the lab's image shape."""

    train: photos.LabelledPhotos
    validation: photos.LabelledPhotos
    test: photos.LabelledPhotos
    image_shape: tuple[int, int]
    datasets: dict = field(default_factory=dict)

    def data(self, split: str, resize: str = "stretch", seed: int = 0):
        """The dataset of one split (or ``train_eval``), made once per (split, resize, seed)."""
        key = (split, resize, seed if split == "train" else 0)
        if key not in self.datasets:
            checked = (  # train_eval: the lab's fixed sample, never shuffled or augmented
                self.train.head(cnnbook.pick(TRAIN_EVAL_SIZE, 16))
                if split == "train_eval"
                else getattr(self, split)
            )
            self.datasets[key] = photos.photo_dataset(
                checked.paths,
                checked.labels,
                self.image_shape,
                batch_size=ladder.BATCH_SIZE,
                shuffle=split == "train",
                seed=seed,
                resize=resize,
            )
        return self.datasets[key]


def book_photos() -> Photos:
    limit = photos_per_split()
    splits = {
        split: photos.cats_and_dogs_photos(split, limit=limit, seed=LISTING_SEED)
        for split in ("train", "validation", "test")
    }
    sample = min(SHAPE_SAMPLE_SIZE, len(splits["train"]))
    shape = photos.scaled_shape(
        photos.most_common_shape(splits["train"].paths, sample, LISTING_SEED)
    )
    return Photos(**splits, image_shape=shape)


def folder_photos(folder: Path) -> photos.LabelledPhotos:
    """A reader's folder of ``cats/*.jpg`` and ``dogs/*.jpg``, checked (broken files named)."""
    folder = Path(folder)
    missing = [name for name in data.CATS_AND_DOGS_CLASSES if not (folder / name).is_dir()]
    if missing:
        raise SystemExit(
            f"{folder} must hold the folders cats/ and dogs/ (missing: "
            f"{', '.join(missing)}), each with .jpg photos"
        )
    files = {name: data.class_folder_entries(folder / name) for name in data.CATS_AND_DOGS_CLASSES}
    paths, labels = photos.labelled_paths(files)
    check = photos.check_photos(paths)
    keep = np.array([path not in check.broken for path in paths], dtype=bool)
    if not keep.any():
        raise SystemExit(f"{folder} holds no readable .jpg photo")
    return photos.LabelledPhotos(
        [p for p, k in zip(paths, keep, strict=True) if k], labels[keep], check
    )


def train_and_score(
    number: int,
    book: Photos,
    seed: int,
    resize: str = "stretch",
    extra_test=None,
    budget_name: str = ladder.FAIR_BUDGET.name,
    **modern_options,
) -> dict:
    """Train rung ``number`` (rung 6 with ``modern_options``) as the lab does, under the
    budget ``budget_name``; score it."""
    import keras

    budget = ladder.budget(budget_name)
    started = f"{timing.utc_now():%Y-%m-%d %H:%M} UTC"
    load_at_start = round(timing.load_average(), 1)
    cnnbook.set_seed(seed)
    train_data = book.data("train", resize, seed)
    model = ladder.build_for_budget(
        number,
        (*book.image_shape, 3),
        budget.max_epochs,
        len(train_data),
        seed=seed,
        **modern_options,
    )
    clock = timing.CpuClock()
    row = ladder.measure_rung(
        model,
        train_data,
        book.data("validation", resize),
        num_epochs=budget.max_epochs,
        patience=budget.patience,
        min_epochs=budget.min_epochs,
        test_data=book.data("test", resize),
        train_eval_data=book.data("train_eval", resize),
        progress=True,
        name=ladder.rung(number).label,
    )
    record = {
        "rung": number,
        "seed": seed,
        "date": started,
        # each run's own machine: a file grown by --append may hold runs of several
        "machine": timing.machine(),
        "load_average_at_start": load_at_start,
        "test_accuracy": row["test_accuracy"],
        "test_accuracy_at_0.5": row["test_accuracy_at_0.5"],
        "threshold": row["best_threshold"],
        "n": row["test_n"],
        "test_accuracy_low": row["test_accuracy_low"],
        "test_accuracy_high": row["test_accuracy_high"],
        "test_set": ladder.BOOK_TEST_SET,
        "val_accuracy": row["val_accuracy"],
        "val_loss_best": min(row["history"]["val_loss"]),
        "epochs": row["num_epochs"],
        "max_epochs": row["max_epochs"],
        "best_epoch": row["best_epoch"],
        # training (inference mode, un-augmented) minus validation accuracy at 0.5, at
        # the epoch kept: the lab's measure of overfitting
        "train_minus_val_accuracy": row["history"]["train_accuracy"][row["best_epoch"] - 1]
        - row["history"]["val_accuracy"][row["best_epoch"] - 1],
        "seconds_per_epoch": row["seconds_per_epoch"],
        **_time_spent(clock.usage()),
        "parameters": row["parameters"],
        # right (1) or wrong (0) on each test photo, in the split's order: what a paired
        # test between two runs on the same photos needs (metrics.paired_comparison)
        "test_correct": metrics.flags_text(row["test_correct"]),
        # each epoch's losses and accuracies (training accuracy: un-augmented, inference
        # mode): the curves, and which epoch any other stopping rule would have kept
        "history": {
            key: [float(f"{value:.4g}") for value in values]
            for key, values in row["history"].items()
        },
    }
    if extra_test is not None:  # a reader's own folder: its scores become the test_*
        record["book_test_accuracy"] = record["test_accuracy"]
        shaped = photos.photo_dataset(
            extra_test.paths,
            extra_test.labels,
            book.image_shape,
            batch_size=ladder.BATCH_SIZE,
            resize=resize,
        )
        scores, labels = ladder.predict_scores(model, shaped)
        scored = ladder.score_row(scores, labels, row["best_threshold"], "test")
        record.update(
            {
                key: scored[key]
                for key in (
                    "test_accuracy",
                    "test_accuracy_at_0.5",
                    "test_accuracy_low",
                    "test_accuracy_high",
                )
            }
        )
        record["n"] = scored["test_n"]
        record["test_correct"] = metrics.flags_text(
            metrics.correct_calls(scores, labels, row["best_threshold"])
        )
        record["test_set"] = "the photos of --test-dir"
    del model
    keras.backend.clear_session()
    return record


def _time_spent(usage: dict) -> dict:
    """A run's wall time, its CPU time and the hypervisor's steal share, as recorded."""
    steal = usage["steal_fraction"]
    return {
        "train_seconds": usage["wall_seconds"],
        "process_cpu_seconds": usage["process_cpu_seconds"],
        # the share of the machine's CPU time taken by other virtual machines: why the
        # same run takes longer on a busy host (None where the system does not say)
        "steal_fraction": None if steal is None else round(steal, 3),
    }


def environment(budget_name: str = ladder.FAIR_BUDGET.name) -> dict:
    """What a result was measured on: the benchmarks' one header line, and its parts."""
    budget, limit = ladder.budget(budget_name), photos_per_split()
    when = timing.utc_now()
    return {
        "header": timing.environment_line(extra=[f"cnnbook {cnnbook.__version__}"], when=when),
        "date": f"{when:%Y-%m-%d %H:%M} UTC",
        "machine": timing.machine(),
        "load_average_at_start": round(timing.load_average(), 1),
        "cnnbook": cnnbook.__version__,
        "quick_mode": cnnbook.quick_mode(),
        "budget": budget_name,
        "max_epochs": budget.max_epochs,
        "patience": budget.patience,
        "min_epochs": budget.min_epochs,
        "photos_per_split": "all" if limit is None else limit,
    }


def report_header(title: str, records: list[dict], env: dict) -> list[str]:
    """A report's first lines: what, on what machine and versions, when, under what budget.

    A file grown by ``--append`` holds runs of several invocations: the environment line
    and the load are the last invocation's, so the span of the runs' starts is given too."""
    lines = [title, env["header"]]
    starts = sorted({r["date"] for r in records if r.get("date")})
    if starts and starts[0] < env["date"]:  # rows from an earlier invocation (--append)
        lines.append(
            f"runs started from {starts[0]} to {starts[-1]} (each row: its start and load); "
            f"the line above and the load below are the last invocation's ({env['date']})"
        )
    lines += [f"load average at start: {env['load_average_at_start']}", budget_line(env)]
    keys = machine_keys(records)
    if keys:
        lines.append(
            "machines (the rows' cpu column): "
            + "; ".join(f"{key} = {name}" for name, key in keys.items())
            + ("; ? = not recorded" if any(not r.get("machine") for r in records) else "")
        )
    return lines


def file_machines(path: Path) -> set[str]:
    """The machines a results file's runs trained on (``ladder.committed_machine``)."""
    found = json.loads(path.read_text())
    return {
        ladder.committed_machine(run, found)
        for run in found.get("rungs", found.get("variants", []))
    }


def machine_keys(records: list[dict]) -> dict[str, str]:
    """A letter for each machine the runs recorded (A, B, ... in order of first use), so
    that a file grown by ``--append`` over several sessions says which CPU each row's
    minutes come from."""
    names = dict.fromkeys(r["machine"] for r in records if r.get("machine"))
    return {name: chr(ord("A") + index) for index, name in enumerate(names)}


def budget_line(env: dict) -> str:
    """The reports' line on the budget a file was measured under (files from before the
    budgets had names carry none)."""
    rule = ladder.committed_budget(env)
    assert rule is not None, "every results file the scripts write records its budget"
    name = f" ({rule.name})" if "budget" in env else ""
    return f"budget{name}: {rule.describe()}; photos per split: {env['photos_per_split']}" + (
        " (QUICK MODE: not a measurement)" if env["quick_mode"] else ""
    )


#: What must match for runs to share a file: the rule (a budget's name may change while
#: its rule stays, as when the diagnostic "schedule" budget became the fair one), the
#: number of photos, quick mode.
BUDGET_KEYS = ("max_epochs", "patience", "min_epochs", "photos_per_split", "quick_mode")


def earlier_records(path: Path | None, key: str, env: dict) -> list[dict]:
    """The records a results file holds already (``--append``), if they were measured
    under this same rule; a file measured under another rule is refused."""
    if path is None or not path.exists():
        return []
    found = json.loads(path.read_text())
    before = found.get("environment", {})
    differ = [name for name in BUDGET_KEYS if before.get(name) != env[name]]
    if differ:
        raise SystemExit(
            f"{path} was measured under another budget ({', '.join(differ)} differ): "
            "write to a new file instead of appending"
        )
    return list(found.get(key, []))


def write_json(path: Path | None, key: str, records: list[dict], env: dict) -> None:
    """Write (and rewrite after every run, so a stopped run keeps what it measured)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: records, "environment": env}, indent=1) + "\n")


def spread(values: list[float]) -> str:
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return f"{values[0]:.3f} (one seed: no spread)"
    return (
        f"{values.mean():.3f} +- {values.std(ddof=1):.3f} (sd over {values.size} seeds; "
        f"min {values.min():.3f}, max {values.max():.3f})"
    )

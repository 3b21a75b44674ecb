"""The ladder benchmarks' code paths, cheaply: quick mode, one seed, a few photos.

They only check that the scripts run and write what they promise; the measurements
themselves are made by hand and committed under benchmarks/results/.
"""

from __future__ import annotations

import importlib
import json
import re

import pytest

from cnnbook import data, timing

PROMISED = {
    "rung",
    "seed",
    "test_accuracy",
    "test_accuracy_at_0.5",
    "threshold",
    "n",
    "test_correct",
}


def _script(name: str):
    """A benchmark script as a module (benchmarks/ is importable from the repository root)."""
    return importlib.import_module(f"benchmarks.{name}")


@pytest.fixture
def pets(tmp_path, data_root):
    """A reader's own folder: three cats, three dogs, and one broken file."""
    folder = tmp_path / "pets"
    source = data.cats_and_dogs_dir() / "validation"
    for label in data.CATS_AND_DOGS_CLASSES:
        (folder / label).mkdir(parents=True)
        for photo in sorted((source / label).glob("*.jpg"))[:3]:
            (folder / label / photo.name).symlink_to(photo)
    (folder / "dogs" / "empty.jpg").write_bytes(b"")
    return folder


@pytest.mark.slow  # trains networks: tens of seconds
def test_ladder_seeds_scores_a_readers_folder_and_writes_the_promised_json(
    pets, tmp_path, monkeypatch, capsys
):
    import warnings

    from cnnbook.photos import BrokenPhotosWarning

    monkeypatch.setenv("CNNBOOK_QUICK", "1")
    out = tmp_path / "out.json"
    with warnings.catch_warnings(record=True) as caught:  # not pytest.warns: it re-raises
        warnings.simplefilter("always")  # TensorFlow's own deprecation notes under -W error
        _script("ladder_seeds").main(
            ["--rungs", "1", "--seeds", "42", "--test-dir", str(pets), "--json", str(out)]
        )
    assert [
        w for w in caught if w.category is BrokenPhotosWarning and "empty.jpg" in str(w.message)
    ], "the broken file was not named"
    (record,) = json.loads(out.read_text())["rungs"]
    assert PROMISED <= set(record)
    assert record["rung"] == 1 and record["seed"] == 42 and record["n"] == 6
    assert len(record["test_correct"]) == 6 and set(record["test_correct"]) <= {"0", "1"}
    assert record["test_correct"].count("1") == round(record["test_accuracy"] * 6)
    # one value an epoch for each curve, the kept epoch's validation loss the lowest
    history = record["history"]
    assert {"loss", "val_loss", "val_accuracy", "train_accuracy"} <= set(history)
    assert all(len(values) == record["epochs"] for values in history.values())
    assert min(history["val_loss"]) == history["val_loss"][record["best_epoch"] - 1]
    assert 0.0 <= record["test_accuracy"] <= 1.0 and 0.0 <= record["threshold"] < 1.0
    # where the run's time went: its CPU seconds, and the neighbours' share (Linux says)
    assert record["process_cpu_seconds"] > 0 and record["train_seconds"] > 0
    steal = record["steal_fraction"]
    assert steal is None or 0.0 <= steal <= 1.0
    assert "QUICK MODE" in capsys.readouterr().out


def test_append_keeps_earlier_runs_of_the_same_budget_and_refuses_another(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNBOOK_QUICK", raising=False)  # quick mode shrinks every budget alike
    runs = _script("ladder_runs")
    env = runs.environment()
    path = tmp_path / "seeds.json"
    assert runs.earlier_records(path, "rungs", env) == []  # nothing yet
    runs.write_json(path, "rungs", [{"rung": 6, "seed": 1}], env)
    assert runs.earlier_records(path, "rungs", env) == [{"rung": 6, "seed": 1}]
    other = {**env, "max_epochs": env["max_epochs"] + 1}
    with pytest.raises(SystemExit, match="max_epochs"):
        runs.earlier_records(path, "rungs", other)
    with pytest.raises(SystemExit, match=r"\(max_epochs[ ,]"):  # page runs never join fair ones
        runs.earlier_records(path, "rungs", runs.environment("page"))
    # a budget renamed with its rule unchanged (the diagnostic "schedule" that became the
    # fair rule) keeps its runs
    assert runs.earlier_records(path, "rungs", {**env, "budget": "renamed"}) == [
        {"rung": 6, "seed": 1}
    ]


def test_an_appended_report_says_when_its_runs_started_not_only_the_last_start():
    runs = _script("ladder_runs")
    env = {**runs.environment(), "date": "2026-12-01 15:27 UTC"}
    own = [{"date": "2026-12-01 15:27 UTC"}, {"date": "2026-12-01 15:51 UTC"}, {}]
    header = runs.report_header("title", own, env)  # one invocation: no span line
    assert header[:2] == ["title", env["header"]] and not any("runs started" in x for x in header)
    appended = [{"date": "2026-12-01 06:44 UTC"}, *own]
    span = [x for x in runs.report_header("title", appended, env) if "runs started" in x]
    assert span and "from 2026-12-01 06:44 UTC to 2026-12-01 15:51 UTC" in span[0]
    assert "last invocation's (2026-12-01 15:27 UTC)" in span[0]


def test_a_rung_and_seed_trained_again_replaces_its_earlier_run_in_place(capsys):
    seeds = _script("ladder_seeds")
    runs = [
        {"rung": 6, "seed": 1, "test_set": "half", "test_accuracy": 0.8, "date": "d1"},
        {"rung": 6, "seed": 42, "test_set": "half", "test_accuracy": 0.85, "date": "d2"},
        {"rung": 1, "seed": 42, "test_set": "half", "test_accuracy": 0.6, "date": "d3"},
    ]
    again = {"rung": 6, "seed": 42, "test_set": "half", "test_accuracy": 0.86}
    assert seeds.replace_run(runs, again) == [runs[0], again, runs[2]]
    assert "replaces the run of d2" in capsys.readouterr().err
    other_photos = {**again, "test_set": "my pets"}  # scored elsewhere: a run of its own
    assert seeds.replace_run(runs, other_photos) == [*runs, other_photos]
    assert seeds.replace_run([], again) == [again]


def test_the_seeds_report_gives_each_runs_steal_share_and_a_mark_for_older_runs():
    seeds = _script("ladder_seeds")
    run = {
        "rung": 6, "seed": 42, "test_accuracy": 0.858, "test_accuracy_low": 0.825,
        "test_accuracy_high": 0.886, "n": 500, "threshold": 0.5, "epochs": 60,
        "max_epochs": 60, "seconds_per_epoch": 29.0, "train_seconds": 2281.6,
        "test_set": "half of validation",
    }  # fmt: skip
    env = _script("ladder_runs").environment()
    lines = seeds.report([run, {**run, "seed": 1, "steal_fraction": 0.251}], env).splitlines()
    header = next(line for line in lines if line.lstrip().startswith("rung  "))
    assert "steal" in header
    (old,) = [x for x in lines if x.lstrip().startswith("6     42")]
    (new,) = [x for x in lines if x.lstrip().startswith("6      1")]
    assert "  ?  " in old and "25%" in new


def test_the_seeds_report_says_which_machine_each_run_trained_on():
    seeds, runs = _script("ladder_seeds"), _script("ladder_runs")
    run = {
        "rung": 6, "seed": 42, "test_accuracy": 0.858, "test_accuracy_low": 0.825,
        "test_accuracy_high": 0.886, "n": 500, "threshold": 0.5, "epochs": 60,
        "max_epochs": 60, "seconds_per_epoch": 29.0, "train_seconds": 2281.6,
        "test_set": "half of validation", "machine": "Intel Xeon, 2 CPUs",
    }  # fmt: skip
    records = [run, {**run, "seed": 1, "machine": "AMD EPYC, 2 CPUs"}, {**run, "seed": 2}]
    del records[2]["machine"]
    assert runs.machine_keys(records) == {"Intel Xeon, 2 CPUs": "A", "AMD EPYC, 2 CPUs": "B"}
    lines = seeds.report(records, runs.environment()).splitlines()
    (legend,) = [x for x in lines if x.startswith("machines")]
    assert "A = Intel Xeon, 2 CPUs; B = AMD EPYC, 2 CPUs; ? = not recorded" in legend
    # a row's words: rung, seed, accuracy, its interval (two words), n, threshold, epochs,
    # s/epoch, minutes, steal, cpu, ...
    rows = {x.split()[1]: x.split() for x in lines if x.lstrip().startswith("6 ")}
    assert [rows[seed][11] for seed in ("42", "1", "2")] == ["A", "B", "?"]
    # a record of this run's own machine: the environment's, and the header line's
    assert timing.machine() == runs.environment()["machine"]
    assert f" on {timing.machine()}, " in runs.environment()["header"]


def test_the_benchmarks_train_under_the_fair_budget_unless_told(monkeypatch):
    from cnnbook import ladder

    monkeypatch.delenv("CNNBOOK_QUICK", raising=False)
    runs = _script("ladder_runs")
    fair, page = ladder.FAIR_BUDGET, ladder.PAGE_BUDGET
    for name, budget in (("fair", fair), ("page", page)):
        env = runs.environment(name)
        assert (env["max_epochs"], env["patience"], env["min_epochs"]) == (
            budget.max_epochs,
            budget.patience,
            budget.min_epochs,
        )
        assert env["photos_per_split"] == "all"
    parser = __import__("argparse").ArgumentParser()
    runs.add_budget_argument(parser)
    assert parser.parse_args([]).budget == "fair"  # unless told
    assert runs.environment()["budget"] == "fair"
    for script in ("ladder_seeds", "ladder_ablation"):
        with pytest.raises(SystemExit):  # argparse: "invalid choice"
            _script(script).main(["--budget", "long"])
    assert runs.environment("page")["budget"] == "page"


def test_ladder_seeds_refuses_a_folder_without_cats_and_dogs(tmp_path):
    with pytest.raises(SystemExit):
        _script("ladder_seeds").main(["--rungs", "9"])
    with pytest.raises(SystemExit, match="cats/ and dogs/"):
        _script("ladder_seeds").main(["--test-dir", str(tmp_path)])


@pytest.mark.slow  # trains networks: tens of seconds
def test_ladder_ablation_runs_a_variant_and_a_resize_mode(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_QUICK", "1")
    out, text = tmp_path / "ablation.json", tmp_path / "ablation.txt"
    _script("ladder_ablation").main(
        ["--variants", "rung 6", "pad", "--seeds", "3", "--json", str(out), "--save", str(text)]
    )
    records = json.loads(out.read_text())["variants"]
    assert [(r["variant"], r["resize"]) for r in records] == [
        ("rung 6", "stretch"),
        ("pad", "pad"),
    ]
    assert all(PROMISED <= set(r) and len(r["test_correct"]) == r["n"] for r in records)
    report = text.read_text()
    assert "QUICK MODE" in report and "budget (short)" in report  # the ablation's default
    assert re.search(r"pad +: +[+-]\d+\.\d points, p [=<] ", report), "no paired comparison"
    # an older file without per-photo flags is refused before any training
    json_text = out.read_text().replace('"test_correct"', '"no_flags"')
    out.write_text(json_text)
    with pytest.raises(SystemExit, match="test_correct"):
        _script("ladder_ablation").main(["--variants", "pad", "--json", str(out), "--append"])
    # so is a file trained on another CPU: its variants would be paired across machines
    assert all(r["machine"] == timing.machine() for r in records)
    out.write_text(json_text.replace(records[0]["machine"], "another CPU, 2 CPUs"))
    with pytest.raises(SystemExit, match="another CPU, 2 CPUs.*write to a new file"):
        _script("ladder_ablation").main(["--variants", "pad", "--json", str(out), "--append"])
    assert re.search(r"s/epoch +cpu", report) and "machines (the rows' cpu column): A = " in report


def test_book_build_benchmark_reads_each_labs_time_from_the_build(built_book):
    """benchmarks/book_build.py's report, from the build the tests read (quick mode)."""
    build = _script("book_build")
    seconds = build.notebook_seconds(built_book.parent / ".jupyter_cache" / build.cache_name())
    labs = {
        f"{name}.ipynb"
        for name in (
            "01_convolution_by_hand",
            "02_edge_filters",
            "03_max_pooling",
            "04_mnist_convnet",
            "05_cats_vs_dogs",
        )
    }
    assert labs <= set(seconds) and all(seconds[lab] > 0 for lab in labs)
    text = build.report(600.0, 0, seconds, (1.0, 2.0))
    assert "QUICK MODE" in text and "whole build: 10.0 minutes" in text
    assert "05_cats_vs_dogs.ipynb" in text and "succeeded" in text
    # the lab quotes a time only from a successful full-mode build under its page budget
    from cnnbook import book, ladder

    page = ladder.PAGE_BUDGET.describe()
    assert book.measured_build(text, page) is None  # quick mode: not a measurement
    full = text.replace("QUICK MODE (not a measurement)", "full mode").replace(
        ladder.QUICK_BUDGET.describe(), page
    )
    minutes, date = book.measured_build(full, page)
    assert minutes == 10.0 and re.fullmatch(r"\S+ \S+ UTC on .+, \d+ CPUs", date)
    assert book.measured_build(full, ladder.FAIR_BUDGET.describe()) is None  # another budget
    assert book.measured_build(full.replace(", succeeded", ", FAILED"), page) is None
    assert book.measured_build("", page) is None
    slow = build.report(1900.0, 2, seconds, (1.0, 2.0))
    assert "FAILED (exit status 2)" in slow and "OVER THE GOAL" in slow
    assert "OVER THE GOAL" not in text

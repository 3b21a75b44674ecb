"""Inside the sandbox: run a student's notebook, then ask it the grader's questions.

Usage (the grader mounts this file and starts it in the sandbox):

    python run_notebook.py NOTEBOOK PROBE_JSON INPUTS_NPZ OUT_FOLDER

Runs the notebook's code cells in one IPython shell (errors do not stop it; a cell that
runs too long is interrupted), then each probe of ``PROBE_JSON``: read a variable, call a
function with the grader's inputs, or save the model a function builds. Each answer goes
to ``OUT_FOLDER`` as soon as it is known: ``ID.json`` (plain data), ``ID.npy`` (numbers),
``ID.keras`` (a model). Nothing here decides a mark: everything this process writes is
checked, and compared with the reference, outside the sandbox. It uses only the standard
library, numpy and IPython, so it does not depend on the grader's code.
"""

import json
import os
import signal
import sys
import traceback

import numpy as np

MAX_JSON_ITEMS = 100_000


class CellTimeout(BaseException):
    """A cell or a call ran longer than allowed."""


def _alarm(signum, frame):
    raise CellTimeout("took too long")


def _with_time_limit(seconds, function, *args, **kwargs):
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _write_json(path, value):
    temporary = path + ".part"
    with open(temporary, "w") as handle:
        json.dump(value, handle)
    os.replace(temporary, path)


def plain(value, budget=None):
    """``value`` as JSON data (numbers, strings, lists, dicts), or raise TypeError."""
    budget = budget if budget is not None else [MAX_JSON_ITEMS]
    budget[0] -= 1
    if budget[0] < 0:
        raise TypeError("too large")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.size > 10_000:
            raise TypeError("array too large for JSON")
        return plain(value.tolist(), budget)
    if isinstance(value, (list, tuple)):
        return [plain(item, budget) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item, budget) for key, item in value.items()}
    raise TypeError(f"{type(value).__name__} is not plain data")


def save_answer(out, probe_id, value):
    """Write one answer: its JSON form and, for numbers, an .npy without pickles."""
    record = {"ok": True, "type": type(value).__name__, "value": None, "array": False}
    try:
        record["value"] = plain(value)
    except (TypeError, ValueError, OverflowError, RecursionError):
        pass
    try:
        array = np.asarray(value)
        if array.dtype.kind in "biuf":
            np.save(os.path.join(out, probe_id + ".npy"), array, allow_pickle=False)
            record["array"] = True
    except Exception:  # noqa: BLE001, S110 - anything the student's object does: no array
        pass
    _write_json(os.path.join(out, probe_id + ".json"), record)


def save_error(out, probe_id, error):
    message = f"{type(error).__name__}: {error}"[:300]
    record = {"ok": False, "error": message, "error_type": type(error).__name__}
    _write_json(os.path.join(out, probe_id + ".json"), record)


def argument(spec, inputs):
    if isinstance(spec, dict) and "input" in spec:
        return np.array(inputs[spec["input"]])  # a fresh copy each time
    if isinstance(spec, dict) and "tuple" in spec:
        return tuple(spec["tuple"])
    return spec


def run_probe(shell, probe, inputs, out, seconds):
    probe_id = probe["id"]
    try:
        if probe["name"] not in shell.user_ns:
            raise NameError(f"{probe['name']} is not defined")
        target = shell.user_ns[probe["name"]]
        if probe["kind"] == "value":
            save_answer(out, probe_id, target)
            return
        args = [argument(a, inputs) for a in probe.get("args", [])]
        kwargs = {k: argument(v, inputs) for k, v in probe.get("kwargs", {}).items()}
        result = _with_time_limit(seconds, target, *args, **kwargs)
        if probe["kind"] == "call":
            save_answer(out, probe_id, result)
        elif probe["kind"] == "model":
            path = os.path.join(out, probe_id + ".keras")
            _with_time_limit(seconds, result.save, path)
            _write_json(os.path.join(out, probe_id + ".json"), {"ok": True, "model": True})
        else:
            raise ValueError(f"unknown probe kind {probe['kind']!r}")
    except (Exception, CellTimeout) as error:  # noqa: BLE001 - the student's error: go on
        save_error(out, probe_id, error)


def code_cells(notebook, skip_tags):
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if any(tag in skip_tags for tag in tags):
            continue
        source = cell.get("source", "")
        yield index, "".join(source) if isinstance(source, list) else str(source)


class _Feedback:
    """Stands in for otter's grader: students' ``grader.check`` cells do nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def main(notebook_path, probe_path, inputs_path, out):
    from IPython.core.interactiveshell import InteractiveShell

    with open(probe_path) as handle:
        plan = json.load(handle)
    with open(notebook_path) as handle:
        notebook = json.load(handle)
    inputs = dict(np.load(inputs_path, allow_pickle=False)) if inputs_path else {}

    shell = InteractiveShell.instance()
    shell.user_ns["grader"] = _Feedback()
    errors = []
    for index, source in code_cells(notebook, set(plan.get("skip_tags", []))):
        try:
            result = _with_time_limit(
                plan["cell_seconds"], shell.run_cell, source, store_history=False, silent=False
            )
            error = result.error_before_exec or result.error_in_exec
        except CellTimeout as timeout:
            error = timeout
        if error is not None:
            errors.append([index, type(error).__name__])
        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except Exception:  # noqa: BLE001, S110 - no figures to close
            pass
        _write_json(os.path.join(out, "_cells.json"), {"errors": errors, "last": index})
    _write_json(os.path.join(out, "_cells.json"), {"errors": errors, "done": True})
    for probe in plan["probes"]:
        run_probe(shell, probe, inputs, out, plan["call_seconds"])
    _write_json(os.path.join(out, "_done.json"), {"done": True})


if __name__ == "__main__":
    try:
        main(*sys.argv[1:5])
    except BaseException:
        traceback.print_exc()
        raise
    sys.stdout.flush()
    os._exit(0)  # do not wait for threads the notebook started

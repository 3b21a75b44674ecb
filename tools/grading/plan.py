"""What the grader asks a submission (probes) and how it marks the answers (checks).

A *probe* is run inside the sandbox, after the student's cells: read a variable, call a
function with the grader's inputs, or save the model a function builds. A *check* runs
outside, in the grader's process: it reads the probes' answers strictly (plain JSON,
numeric ``.npy`` files loaded without pickles, ``.keras`` files in Keras's safe mode)
and compares them with the book's reference. Only the inputs enter the sandbox: the
expected values are computed outside and never written anywhere.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_ANSWER_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 256 * 2**20  # everything read back from one submission's answers


def read_untrusted(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file the sandbox wrote, or None if it is not one.

    Never follows a symlink (``O_NOFOLLOW``), never blocks on a FIFO (``O_NONBLOCK``),
    checks the opened file itself (``fstat``) and reads at most ``limit`` bytes:
    ValueError if the file holds more.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError("too large")
    return data


class WrongAnswer(AssertionError):
    """A check failed; the message says why (it goes to the grade report)."""


@dataclass(frozen=True)
class Probe:
    id: str
    kind: str  # "value", "call" or "model"
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "args": list(self.args),
            "kwargs": dict(self.kwargs),
        }


@dataclass(frozen=True)
class Check:
    question: str
    points: float
    what: str
    mark: Callable[[Answers], None]  # raises WrongAnswer (or anything) when wrong


class Answers:
    """The answers a sandbox wrote, read without trusting them."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.budget = MAX_TOTAL_BYTES
        # ``out`` is in the sandbox's folder: refuse it if the notebook made it a symlink.
        self.usable = not self.folder.is_symlink() and self.folder.is_dir()
        if self.usable and self.folder.resolve() != self.folder.parent.resolve() / self.folder.name:
            self.usable = False

    def read(self, name: str, what: str) -> bytes | None:
        """A file of the answers' folder (None if it is missing or not a plain file)."""
        if not self.usable or "/" in name:
            return None
        try:
            data = read_untrusted(self.folder / name, min(MAX_ANSWER_BYTES, self.budget))
        except ValueError as error:
            raise WrongAnswer(f"{what} is too large") from error
        if data is not None:
            self.budget -= len(data)
        return data

    def _load(self, probe_id: str):
        data = self.read(f"{probe_id}.json", f"the answer for {probe_id}")
        if data is None:
            raise WrongAnswer(f"no answer for {probe_id} (the notebook stopped before it)")
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise WrongAnswer(f"the answer for {probe_id} is not valid JSON") from error

    def _record(self, probe_id: str) -> dict:
        record = self._load(probe_id)
        if not isinstance(record, dict):
            raise WrongAnswer(f"the answer for {probe_id} is not a record")
        if record.get("ok") is not True:
            raise WrongAnswer(str(record.get("error", "failed"))[:200])
        return record

    def error(self, probe_id: str) -> tuple[str, str] | None:
        """``(error type, message)`` if the call raised, else None (it returned)."""
        record = self._load(probe_id)
        if isinstance(record, dict) and record.get("ok") is True:
            return None
        if not isinstance(record, dict) or "error_type" not in record:
            raise WrongAnswer(f"no answer for {probe_id}")
        return str(record["error_type"])[:100], str(record.get("error", ""))[:300]

    def value(self, probe_id: str):
        """The answer as plain JSON data (numbers, strings, lists, dicts)."""
        return self._record(probe_id).get("value")

    def array(self, probe_id: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The answer as a finite float array (of ``shape``, when given)."""
        record = self._record(probe_id)
        data = self.read(f"{probe_id}.npy", f"{probe_id}: the array")
        if not record.get("array") or data is None:
            raise WrongAnswer(
                f"{probe_id}: the answer is not an array of numbers "
                f"(it is a {str(record.get('type'))[:40]})"
            )
        try:
            check_npy_header(data)
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError) as error:
            raise WrongAnswer(f"{probe_id}: not a numeric array ({error})") from error
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            raise WrongAnswer(f"{probe_id}: not an array of numbers")
        array = array.astype(float)
        if shape is not None and array.shape != tuple(shape):
            raise WrongAnswer(f"{probe_id}: shape {array.shape}, expected {tuple(shape)}")
        if not np.all(np.isfinite(array)):
            raise WrongAnswer(f"{probe_id}: the array holds NaN or infinity")
        return array

    def number(self, probe_id: str) -> float:
        value = self.value(probe_id)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise WrongAnswer(f"{probe_id}: {str(value)[:40]} is not a number")
        if not math.isfinite(value):
            raise WrongAnswer(f"{probe_id}: {value} is not finite")
        return float(value)

    def model_file(self, probe_id: str) -> bytes:
        """The bytes of the saved ``.keras`` archive (checked by models.py, not here)."""
        self._record(probe_id)
        data = self.read(f"{probe_id}.keras", f"{probe_id}: the saved model")
        if data is None:
            raise WrongAnswer(f"{probe_id}: no model was saved")
        return data


def check_npy_header(data: bytes) -> None:
    """Refuse an .npy file whose header promises more numbers than the file holds."""
    handle = io.BytesIO(data)
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    data_bytes = len(data) - handle.tell()
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ValueError(f"not numbers ({dtype})")
    if int(np.prod(shape, dtype=object)) * dtype.itemsize != data_bytes:
        raise ValueError(f"the header's shape {shape} does not match the file's size")


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise WrongAnswer(message)


def expect_close(answer: np.ndarray, expected: np.ndarray, what: str, atol: float = 1e-6) -> None:
    answer, expected = np.asarray(answer, float), np.asarray(expected, float)
    expect(
        answer.shape == expected.shape, f"{what}: shape {answer.shape}, expected {expected.shape}"
    )
    expect(bool(np.allclose(answer, expected, rtol=1e-6, atol=atol)), f"{what}: wrong values")


@dataclass
class Plan:
    """The probes, their inputs and the checks for one submission."""

    probes: list[Probe] = field(default_factory=list)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def value(self, name: str) -> str:
        probe = Probe(f"p{len(self.probes)}", "value", name)
        self.probes.append(probe)
        return probe.id

    def call(self, name: str, *args, **kwargs) -> str:
        probe = Probe(
            f"p{len(self.probes)}",
            "call",
            name,
            tuple(self._arg(a) for a in args),
            {k: self._arg(v) for k, v in kwargs.items()},
        )
        self.probes.append(probe)
        return probe.id

    def model(self, name: str, *args) -> str:
        probe = Probe(f"p{len(self.probes)}", "model", name, tuple(self._arg(a) for a in args))
        self.probes.append(probe)
        return probe.id

    def _arg(self, value):
        if isinstance(value, np.ndarray):
            key = f"a{len(self.inputs)}"
            self.inputs[key] = value
            return {"input": key}
        if isinstance(value, tuple):
            return {"tuple": list(value)}
        return value

    def check(self, question: str, points: float, what: str):
        """Decorator: ``@plan.check("q1", 1.5, "values")`` on a ``mark(answers)``."""

        def register(mark: Callable[[Answers], None]):
            self.checks.append(Check(question, points, what, mark))
            return mark

        return register

    def points(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for check in self.checks:
            totals[check.question] = totals.get(check.question, 0.0) + check.points
        return totals

"""Grading a class of untrusted notebooks: no forged marks, no damage, no hangs, a row each.

A class folder of assignment 1 holds an honest submission, a blank one, and hostile ones
as a teacher meets them: one patches the test machinery, one looks for the hidden tests,
one attacks a classmate's notebook, the teacher's files and environment, loops forever,
kills its own process, eats memory; plus a file that is not a notebook and a notebook of
another assignment. The class is graded with the command a teacher runs. Each hostile
notebook answers question 1 correctly *only if its attack failed*, so its marks prove
what the sandbox stopped; and every file outside the sandbox is hashed before and after.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tools import make_assignments
from tools.grading import flags, report, sandbox
from tools.grading.grade import Grade, Grader

ROOT = Path(__file__).resolve().parents[1]

NAME = "01_convolution"
SECRET = "do-not-leak-4711"
Q1_RIGHT = (
    "valid_by_hand = np.array([[0, -1, -1], [-1, 1, 3], [2, 0, -2]])\n"
    "strided_by_hand = np.array([[0, -1], [2, -2]])\n"
)
Q2_RIGHT = "sizes = [24, 12, 5]\nsame_pad = (0, 1)\n"
# Replaces every file the grader might read back as the log (an old grader kept it in
# /tmp/log.txt, the sandbox's writable folder) with ``ACTION`` (``p``: the path).
SWAP_LOG = (
    "import os\nfor p in ['/tmp/log.txt'] + [f'/tmp/{n}' for n in os.listdir('/tmp')"
    " if n.endswith(('.txt', '.log'))]:\n"
    "    try:\n        os.remove(p)\n    except OSError:\n        pass\n    ACTION\n"
)
Q1_IF_SAFE = "if not leaked:\n" + "".join("    " + line + "\n" for line in Q1_RIGHT.splitlines())


def _tree_hash(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _with_cell(notebook: dict, source: str, before_question: int | None = None) -> dict:
    """A copy of ``notebook`` with a code cell added (at the end, or before a question)."""
    notebook = json.loads(json.dumps(notebook))
    cell = {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }
    cells = notebook["cells"]
    if before_question is None:
        cells.append(cell)
    else:
        index = next(
            i
            for i, c in enumerate(cells)
            if c["cell_type"] == "markdown"
            and f"**Question {before_question}" in "".join(c["source"])
        )
        cells.insert(index, cell)
    return notebook


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("assignments")
    for name in (NAME, "02_edge_filters"):
        make_assignments.build_one(ROOT / "assignments" / f"{name}.ipynb", out)
    return out


def hostile_class(built: Path, folder: Path, canary: Path, teacher_file: Path) -> dict:
    """Write the class into ``folder``; returns ``{file name: expected total}``."""
    blank = json.loads(make_assignments.student_copy(built / NAME).read_text())
    solutions = json.loads(make_assignments.solutions_copy(built / NAME).read_text())
    honest = folder / "honest.ipynb"
    targets = [
        honest,
        canary,
        teacher_file,
        folder / "new-file.txt",
        canary.parent / "escaped.txt",
        ROOT / "assignments" / "escaped.txt",
        "/escaped.txt",
        "/usr/escaped.txt",
    ]
    submissions = {
        "honest.ipynb": (solutions, 8.0),
        "blank.ipynb": (blank, 0.0),
        # Forges from inside: patch every checker it can think of, fake its answers.
        "patcher.ipynb": (
            _with_cell(
                blank,
                (
                    "import sys, traceback, builtins, numpy as np, otter, json, os\n"
                    "otter.Notebook.check = lambda *a, **k: True\n"
                    "sys.exit = lambda *a, **k: None\n"
                    "traceback.print_exc = lambda *a, **k: None\n"
                    "np.testing.assert_allclose = lambda *a, **k: None\n"
                    "np.allclose = np.array_equal = lambda *a, **k: True\n"
                    "builtins.AssertionError = type('Never', (Exception,), {})\n"
                    "class Anything:\n"
                    "    def __eq__(self, other): return True\n"
                    "    def __array__(self, *a, **k): raise RuntimeError('no')\n"
                    "valid_by_hand = strided_by_hand = sizes = same_pad = Anything()\n"
                    "conv2d = lambda *a, **k: Anything()\n"
                    "for i in range(40):  # answers written ahead, pickled arrays\n"
                    "    np.save(f'/tmp/out/p{i}.npy', np.array([Anything()], dtype=object),\n"
                    "            allow_pickle=True)\n"
                    "    record = json.dumps({'ok': True, 'array': True})\n"
                    "    open(f'/tmp/out/p{i}.json', 'w').write(record)\n"
                    "os.chmod('/tmp/out', 0o500)\n"
                ),
            ),
            0.0,
        ),
        # Looks for the hidden tests and the teacher's files; answers q1 only if none found.
        "snoop.ipynb": (
            _with_cell(
                blank,
                (
                    "import os, sys\n"
                    # (the repository's own folder may exist, empty but for the mount
                    # points, when the venv or the package lives inside it, as in CI)
                    f"places = [{str(ROOT / 'assignments')!r}, {str(ROOT / 'tests')!r},\n"
                    f"          {str(built)!r}, {str(folder)!r}, {str(canary)!r},\n"
                    f"          {str(ROOT / 'tools' / 'grading')!r}]\n"
                    "leaked = [p for p in places if os.path.exists(p)]\n"
                    "python = (sys.prefix, sys.base_prefix, '/proc', '/sys', '/usr', '/dev')\n"
                    "for root, dirs, files in os.walk('/', onerror=lambda e: None):\n"
                    "    if root.startswith(python):\n"
                    "        dirs[:] = []\n"
                    "        continue\n"
                    "    for f in files:\n"
                    "        if f.endswith(('assignments.py', '.ipynb', '.csv', 'canary.txt')):\n"
                    "            if root != '/tmp/work':\n"
                    "                leaked.append(os.path.join(root, f))\n"
                    "for pid in os.listdir('/proc'):\n"
                    "    if pid.isdigit():\n"
                    "        try:\n"
                    "            if b'pytest' in open(f'/proc/{pid}/cmdline', 'rb').read():\n"
                    "                leaked.append(pid)\n"
                    "        except OSError: pass\n"
                    "print('FOUND', len(leaked), leaked[:5])\n" + Q1_IF_SAFE
                ),
            ),
            2.0,
        ),
        # Attacks a classmate, the teacher's files, the network and the environment.
        "vandal.ipynb": (
            _with_cell(
                blank,
                (
                    "import os, socket\n"
                    "leaked = []\n"
                    f"for path in {[str(t) for t in targets]!r}:\n"
                    "    try:\n"
                    "        open(path, 'w').write('overwritten')\n"
                    "        leaked.append(path)\n"
                    "    except OSError: pass\n"
                    f"leaked += [k for k, v in os.environ.items() if {SECRET!r} in v]\n"
                    "for pid in os.listdir('/proc'):  # any process's environment, command line\n"
                    "    for part in ('environ', 'cmdline'):\n"
                    "        try:\n"
                    "            text = open(f'/proc/{pid}/{part}', 'rb').read()\n"
                    f"            if {SECRET.encode()!r} in text or \\\n"
                    f"                    {str(folder).encode()!r} in text:\n"
                    "                leaked.append(f'/proc/{pid}/{part}')\n"
                    "        except OSError: pass\n"
                    "try:\n"
                    "    socket.create_connection(('pypi.org', 443), timeout=3)\n"
                    "    leaked.append('network')\n"
                    "except OSError: pass\n"
                    "print('LEAKED', leaked)\n" + Q1_IF_SAFE
                ),
            ),
            2.0,
        ),
        # Memory beyond the limit must fail (np.empty touches nothing if it does not).
        "hog.ipynb": (
            _with_cell(
                blank,
                (
                    "import numpy as np\n"
                    "try:\n"
                    "    hog = np.empty(6 * 2**30, dtype=np.uint8)\n"
                    "    leaked = True\n"
                    "except MemoryError:\n"
                    "    leaked = False\n" + Q1_IF_SAFE
                ),
            ),
            2.0,
        ),
        # An endless cell is stopped; the answers after it still count.
        "loop.ipynb": (
            _with_cell(
                _with_cell(blank, Q1_RIGHT + "while True:\n    pass\n", before_question=2), Q2_RIGHT
            ),
            4.0,
        ),
        # An endless cell that swallows the interruption: the whole run times out.
        "stubborn.ipynb": (
            _with_cell(
                blank,
                (
                    Q1_RIGHT + "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                    "    except BaseException:\n        pass\n"
                ),
            ),
            0.0,
        ),
        "killer.ipynb": (_with_cell(blank, Q1_RIGHT + "import os\nos.kill(os.getpid(), 9)\n"), 0.0),
        "exiter.ipynb": (_with_cell(blank, Q1_RIGHT + "import os\nos._exit(0)\n"), 0.0),
        # Uses the book's reference for the convolution: graded as written, and flagged.
        "=reference.ipynb": (
            _with_cell(
                blank,
                (
                    "import cnnbook.ops as o\n"
                    "def conv2d(image, kernel, stride=1, padding='valid'):\n"
                    "    return o.conv2d(image, kernel, stride=stride, padding=padding)\n"
                ),
            ),
            4.0,
        ),
        "other.ipynb": (
            json.loads(make_assignments.student_copy(built / "02_edge_filters").read_text()),
            0.0,
        ),
        # G1: the log swapped for a FIFO (an endless open) or a link to the teacher's file.
        "fifo_log.ipynb": (
            _with_cell(blank, Q1_RIGHT + SWAP_LOG.replace("ACTION", "os.mkfifo(p)")),
            2.0,
        ),
        "link_log.ipynb": (
            _with_cell(
                blank, Q1_RIGHT + SWAP_LOG.replace("ACTION", f"os.symlink({str(canary)!r}, p)")
            ),
            2.0,
        ),
        "zero_log.ipynb": (
            _with_cell(blank, Q1_RIGHT + SWAP_LOG.replace("ACTION", "os.symlink('/dev/zero', p)")),
            2.0,
        ),
        # G6: terminal escapes in what the grader prints; G2: nested JSON in _cells.json.
        "escapes.ipynb": (
            _with_cell(
                blank,
                Q1_RIGHT + "import json, os\njson.dump({'errors': [[1, '\\x1b]0;owned\\x07']],"
                " 'last': '\\x1b[2J\\x1b]8;;http://x\\x07'}, open('/tmp/out/_cells.json', 'w'))"
                "\nos._exit(0)\n",
            ),
            0.0,
        ),
        "nested_cells.ipynb": (
            _with_cell(
                blank,
                "import os\nopen('/tmp/out/_cells.json', 'w').write('[' * 200000)\n"
                "open('/tmp/out/p0.json', 'w').write('{\"ok\": true, \"value\":' + '[' * 200000)"
                "\nos._exit(0)\n",
            ),
            0.0,
        ),
        # G9: an LMS export puts each student in a folder.
        "lms/bob/submission.ipynb": (solutions, 8.0),
    }
    expected = {}
    for name, (notebook, total) in submissions.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(notebook))
        expected[name] = total
    (folder / ".hidden.ipynb").write_text(json.dumps(solutions))
    (folder / "deep.ipynb").write_text('{"cells": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    expected.update({".hidden.ipynb": 0.0, "deep.ipynb": 0.0})
    (folder / "notes.txt").write_text("my answers are in the email")
    (folder / "broken.ipynb").write_text('{"cells": [')
    odd = {
        "metadata": [],
        "cells": [
            1,
            "x",
            None,
            {"cell_type": "code", "source": 5},
            {"cell_type": "markdown", "metadata": {"tags": 7}},
        ],
    }
    (folder / "odd.ipynb").write_text(json.dumps(odd))
    expected.update({"notes.txt": 0.0, "broken.ipynb": 0.0, "odd.ipynb": 0.0})
    return expected


@pytest.fixture(scope="module")
def graded_class(built, tmp_path_factory):
    import tempfile

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("GRADING_TEST_SECRET", SECRET)
    scratch = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the sandboxes' folders go here
    home = tmp_path_factory.mktemp("teacher")
    folder = home / "class"
    folder.mkdir()
    canary = home / "canary.txt"
    canary.write_text("the teacher's file")
    teacher_file = built / NAME / "grades-kept-here.csv"
    teacher_file.write_text("teacher's own file")
    expected = hostile_class(built, folder, canary, teacher_file)
    before = {
        "class": _tree_hash(folder),
        "build": _tree_hash(built),
        "canary": canary.read_text(),
        "repo": _tree_hash(ROOT / "assignments"),
    }
    table, written = home / "grades.csv", home / "written.md"
    logs = {}  # what the attacks report they found, to explain a failure
    grade_one = Grader.grade

    def grade_and_keep_log(self, path, name=None):
        graded = grade_one(self, path, name)
        logs[graded.submission] = [
            line for line in graded.log_tail.splitlines() if "FOUND" in line or "LEAKED" in line
        ]
        if canary.read_text() in graded.log_tail or "\0" * 100 in graded.log_tail:
            logs[graded.submission].append("LOG LEAKED: the teacher's file was read back")
        return graded

    monkeypatch.setattr(Grader, "grade", grade_and_keep_log)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = make_assignments.main(
            [
                "grade",
                NAME,
                str(folder),
                "--csv",
                str(table),
                "--written",
                str(written),
                "--out",
                str(built),
                "--timeout",
                "40",
                "--memory-gb",
                "4",
            ]
        )
    monkeypatch.undo()
    after = {
        "class": _tree_hash(folder),
        "build": _tree_hash(built),
        "canary": canary.read_text(),
        "repo": _tree_hash(ROOT / "assignments"),
    }
    with table.open() as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    leftovers = list(scratch.iterdir())
    logs["printed"] = printed.getvalue()
    return code, expected, rows, before, after, written, leftovers, logs


def test_every_submission_gets_what_its_answers_deserve(graded_class):
    code, expected, rows, *_, logs = graded_class
    assert code == 0
    names = {name if not name.startswith("=") else "'" + name for name in expected}
    assert set(rows) == names, "the CSV must list every file handed in, and only those"
    got = {name.lstrip("'"): float(row["total"]) for name, row in rows.items()}
    wrong = {n: (got.get(n), logs.get(n)) for n in expected if got.get(n) != expected[n]}
    assert not wrong, f"marks (and what the attack found): {wrong}"
    assert all(float(row["possible"]) == 8 for row in rows.values())


def test_nothing_outside_the_sandbox_changed(graded_class):
    _, _, _, before, after, *_ = graded_class
    assert after == before
    assert not Path("/tmp/escaped.txt").exists()
    assert not (ROOT / "assignments" / "escaped.txt").exists()


def test_reasons_are_in_the_csv(graded_class):
    _, _, rows, *_ = graded_class
    assert rows["honest.ipynb"]["problems"] == ""
    assert "timed out" in rows["stubborn.ipynb"]["problems"]
    assert "running too long" in rows["loop.ipynb"]["problems"]
    assert "SIGKILL" in rows["killer.ipynb"]["problems"]
    assert "stopped in cell" in rows["exiter.ipynb"]["problems"]
    assert "not a notebook" in rows["notes.txt"]["problems"]
    assert "not a notebook" in rows["broken.ipynb"]["problems"]
    assert "another assignment (02_edge_filters)" in rows["other.ipynb"]["problems"]
    reference = rows["'=reference.ipynb"]
    assert "q3: cnnbook.ops" in reference["reference_code"]
    assert all(row["reference_code"] == "" for name, row in rows.items() if "reference" not in name)


def test_the_log_and_the_answers_cannot_be_swapped(graded_class):
    """G1: a FIFO or a link in place of the log neither hangs the grader nor reads a file."""
    *_, logs = graded_class
    assert not [n for n, lines in logs.items() if n != "printed" and "LOG LEAKED" in str(lines)]


def test_no_control_characters_reach_the_teacher(graded_class):
    """G6: what the grader prints and writes holds no escape sequence of the student's."""
    _, _, rows, *_, written, _, logs = graded_class
    assert "\x1b" not in logs["printed"] and "\x07" not in logs["printed"]
    assert "\x1b" not in json.dumps(rows)
    assert "stopped in cell ?" in rows["escapes.ipynb"]["problems"]
    assert "did not start" in rows["nested_cells.ipynb"]["problems"]


def test_every_entry_gets_a_row_with_a_reason(graded_class):
    """G9 and G2: subfolders are graded, hidden files and deep JSON get a reason."""
    _, _, rows, *_ = graded_class
    assert rows["lms/bob/submission.ipynb"]["problems"] == ""
    assert "hidden" in rows[".hidden.ipynb"]["problems"]
    assert "nested too deeply" in rows["deep.ipynb"]["problems"]


def test_written_answers_file_lists_everyone(graded_class):
    _, expected, _, _, _, written, *_ = graded_class
    text = written.read_text()
    assert all(f"# {name}" in text for name in expected)


def test_grading_leaves_no_temporary_folders(graded_class):
    assert graded_class[6] == []


def test_stopping_the_grader_still_writes_every_row(built, tmp_path):
    """SIGTERM while a notebook runs: the sandbox ends, its folder goes, the CSV is written."""
    import signal
    import subprocess
    import time

    folder, scratch = tmp_path / "class", tmp_path / "scratch"
    folder.mkdir()
    scratch.mkdir()
    blank = json.loads(make_assignments.student_copy(built / NAME).read_text())
    endless = _with_cell(
        blank, "while True:\n    try:\n        pass\n    except BaseException:\n        pass\n"
    )
    (folder / "a_endless.ipynb").write_text(json.dumps(endless))
    (folder / "b_blank.ipynb").write_text(json.dumps(blank))
    table = tmp_path / "grades.csv"
    command = [
        sys.executable,
        str(ROOT / "tools" / "make_assignments.py"),
        "grade",
        NAME,
        str(folder),
        "--csv",
        str(table),
        "--out",
        str(built),
        "--timeout",
        "120",
    ]
    grader = subprocess.Popen(
        command,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not list(scratch.glob("grade-*/out/_cells.json")) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)
    grader.send_signal(signal.SIGTERM)
    output = grader.communicate(timeout=60)[0].decode()
    assert grader.returncode != 0, output
    with table.open() as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"a_endless.ipynb", "b_blank.ipynb"}, output
    assert all("interrupted" in row["problems"] for row in rows.values())
    assert list(scratch.iterdir()) == []


# --------------------------------------------------------------------------- pieces, fast
def test_refuses_without_a_sandbox(built, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    (tmp_path / "a.ipynb").write_text("{}")
    with pytest.raises(SystemExit, match="--unsafe-no-sandbox"):
        make_assignments.main(["grade", NAME, str(tmp_path), "--out", str(built)])


def test_unsafe_mode_still_marks_outside(built, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    notebook = make_assignments.solutions_copy(built / NAME)
    table = tmp_path / "grades.csv"
    make_assignments.main(
        [
            "grade",
            NAME,
            str(notebook),
            "--out",
            str(built),
            "--csv",
            str(table),
            "--unsafe-no-sandbox",
        ]
    )
    assert "8" in table.read_text().splitlines()[1].split(",")[4]


def test_top_level_help_names_every_command(capsys):
    with pytest.raises(SystemExit):
        make_assignments.main(["--help"])
    text = capsys.readouterr().out
    assert "grade" in text and "--check" in text
    with pytest.raises(SystemExit):
        make_assignments.main(["grade", "--help"])
    assert "--timeout" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_spreadsheet_formulas_are_neutralised(value):
    safe = report.spreadsheet_safe(value)
    assert safe.startswith("'")
    assert report.spreadsheet_safe(3.5) == 3.5


def test_csv_is_written_atomically_and_safely(tmp_path):
    grade = Grade('=HYPERLINK("http://x").ipynb', {"q1": 1.0}, {"q1": 2.0}, problems=["-bad"])
    table = tmp_path / "grades.csv"
    table.write_text("old")
    from tools.grading.grade import write_grades

    write_grades([grade], table, None)
    with table.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0].startswith("'=") and rows[1][4] == "'-bad"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


@pytest.mark.parametrize(
    "code",
    [
        "import cnnbook.ops as o\ny = o.conv2d(a, b)",
        "from cnnbook import ops\nops.conv2d(a, b)",
        "from cnnbook.ops import conv2d as c",
        "import cnnbook\ncnnbook.ops.conv2d(a, b)",
        "import cnnbook\nf = getattr(cnnbook, 'ops').conv2d",
        "m = __import__('cnnbook.ops')",
        "import importlib\nm = importlib.import_module('cnnbook' + '.ops')",
        "import importlib\nm = importlib.import_module('cnnbook.ops')",
        "import tensorflow as tf\ntf.nn.conv2d(x, k, 1, 'VALID')",
        "from keras import layers\nlayers.Conv2D(1, 3)",
        "exec('from cnnbook.ops import conv2d')",
    ],
)
def test_reference_code_is_found(code):
    assert flags.find_in_code(code, ("cnnbook.ops", "tensorflow", "keras")), code


def test_reference_code_is_flagged_in_the_questions_that_forbid_it():
    notebook = {
        "cells": [
            {"cell_type": "code", "source": "from cnnbook.ops import conv2d"},
            {"cell_type": "markdown", "source": "**Question 1.** without a convolution"},
            {"cell_type": "code", "source": "v = conv2d(step, kernel)"},
            {"cell_type": "markdown", "source": "**Question 2.** use it freely"},
            {"cell_type": "code", "source": "w = conv2d(photo, kernel)"},
        ]
    }
    found = flags.reference_code_uses(notebook, set(), {"q1": ("cnnbook.ops",)})
    assert found == ["q1: cnnbook.ops (conv2d)"]


def test_own_code_is_not_flagged():
    code = "import numpy as np\ndef conv2d(image, kernel):\n    return np.zeros((1, 1))\n"
    assert flags.find_in_code(code, ("cnnbook.ops", "tensorflow")) == []
    notebook = {
        "cells": [
            {"cell_type": "code", "source": "from cnnbook.ops import conv2d"},
            {"cell_type": "markdown", "source": "**Question 3.** write it"},
            {"cell_type": "code", "source": "y = conv2d(a, b)"},
        ]
    }
    given = {"from cnnbook.ops import conv2d"}
    assert flags.reference_code_uses(notebook, given, ("cnnbook.ops",)) == [
        "q3: cnnbook.ops (conv2d)"
    ]


def test_rebuild_keeps_the_teachers_files(built):
    folder = built / NAME
    keep = {folder / "submissions" / "alice.ipynb": "alice", folder / "grades.csv": "x,y"}
    for path, text in keep.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    make_assignments.build_one(ROOT / "assignments" / f"{NAME}.ipynb", built)
    assert all(path.read_text() == text for path, text in keep.items())
    manifest = json.loads((folder / make_assignments.MANIFEST).read_text())
    assert set(manifest["files"]) == {f"student/{NAME}.ipynb", f"solutions/{NAME}.ipynb"}
    # A made file the teacher changed is not overwritten: the build stops and says why.
    student = make_assignments.student_copy(folder)
    student.write_text(student.read_text().replace("Assignment 1", "Assignment 1 (group B)"))
    with pytest.raises(make_assignments.FolderNotOurs, match="changed"):
        make_assignments.build_one(ROOT / "assignments" / f"{NAME}.ipynb", built)
    assert "group B" in student.read_text()
    student.unlink()
    make_assignments.build_one(ROOT / "assignments" / f"{NAME}.ipynb", built)
    assert all(path.read_text() == text for path, text in keep.items())


def test_a_model_is_taken_back_as_data_only(tmp_path):
    """A .keras file with Python code in it (a Lambda layer) or extra files is refused."""
    import zipfile

    import keras

    from tools.grading import models
    from tools.grading.plan import WrongAnswer

    inputs = keras.Input(shape=(4,))
    plain = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    plain.save(tmp_path / "plain.keras")
    assert models.load_model(tmp_path / "plain.keras").count_params() == 5
    with_code = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    with_code.save(tmp_path / "code.keras")
    with pytest.raises(WrongAnswer, match="Lambda"):
        models.load_model(tmp_path / "code.keras")
    with zipfile.ZipFile(tmp_path / "plain.keras") as source:
        members = {name: source.read(name) for name in source.namelist()}
    config = json.loads(members["config.json"])
    config["module"] = "os"
    with zipfile.ZipFile(tmp_path / "foreign.keras", "w") as target:
        for name, data in members.items():
            target.writestr(name, json.dumps(config) if name == "config.json" else data)
        target.writestr("payload.py", "import os")
    with pytest.raises(WrongAnswer, match="unexpected files"):
        models.load_model(tmp_path / "foreign.keras")
    (tmp_path / "not.keras").write_bytes(b"\x80\x04pickle")
    with pytest.raises(WrongAnswer, match="not a .keras"):
        models.load_model(tmp_path / "not.keras")


def test_answers_are_read_strictly(tmp_path):
    """Pickles, forged headers, NaN and wrong shapes are wrong answers, never loaded."""
    import numpy as np

    from tools.grading.plan import Answers, WrongAnswer

    def answer(name, array=None, **record):
        (tmp_path / f"{name}.json").write_text(json.dumps({"ok": True, "array": True, **record}))
        if array is not None:
            np.save(tmp_path / f"{name}.npy", array, allow_pickle=True)

    answer("good", np.arange(6.0).reshape(2, 3))
    answer("pickled", np.array([{"a": 1}], dtype=object))
    answer("nan", np.array([1.0, np.nan]))
    answer("huge")
    header = (tmp_path / "good.npy").read_bytes().replace(b"(2, 3), ", b"(9999, 9999),")
    (tmp_path / "huge.npy").write_bytes(header)
    answers = Answers(tmp_path)
    assert answers.array("good", (2, 3)).sum() == 15
    for name, shape in [("pickled", None), ("nan", None), ("huge", None), ("good", (3, 2))]:
        with pytest.raises(WrongAnswer):
            answers.array(name, shape)
    with pytest.raises(WrongAnswer, match="no answer"):
        answers.value("missing")


# --------------------------------------------------------------------------- security review
@pytest.mark.parametrize(
    "code", ["x = " + "+".join(["a"] * 300_000), "-" * 200_000 + "1", "(" * 100_000 + ")" * 100_000]
)
def test_huge_or_deep_code_does_not_stop_the_analysis(code):
    """G2: code the parser or the walk cannot handle is reported, not raised."""
    found = flags.reference_code_uses({"cells": [{"cell_type": "code", "source": code}]}, set(), ())
    assert all("too deeply nested" in finding for finding in found)


def test_one_submission_that_breaks_the_grader_costs_only_its_row(built, tmp_path, monkeypatch):
    """G2: a RecursionError or MemoryError while grading one file gives it a zero row."""
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    for name in ("a.ipynb", "b.ipynb"):
        (tmp_path / "class").mkdir(exist_ok=True)
        (tmp_path / "class" / name).write_text("{}")

    def broken(self, path, name):
        raise MemoryError if name == "a.ipynb" else RecursionError("deep")

    monkeypatch.setattr(Grader, "_grade", broken)
    table = tmp_path / "grades.csv"
    make_assignments.main(
        ["grade", NAME, str(tmp_path / "class"), "--out", str(built), "--csv", str(table)]
        + ["--unsafe-no-sandbox"]
    )
    with table.open() as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert "MemoryError" in rows["a.ipynb"]["problems"]
    assert "RecursionError" in rows["b.ipynb"]["problems"]


def test_answers_are_never_read_through_links_or_fifos(tmp_path):
    """G1: an answer that is a link, a FIFO or too large, or a linked out/, is no answer."""
    from tools.grading.plan import Answers, WrongAnswer

    secret = tmp_path / "id_rsa"
    secret.write_text('{"ok": true, "value": "the teacher\'s key"}')
    out = tmp_path / "folder" / "out"
    out.mkdir(parents=True)
    (out / "p0.json").symlink_to(secret)
    os.mkfifo(out / "p1.json")
    (out / "p2.json").write_text('{"ok": false, "error_type": "X"' + " " * 65 * 2**20 + "}")
    (out / "p3.json").write_text('{"ok": false, "error": "no", "error_type": "ValueError"}')
    answers = Answers(out)
    for probe in ("p0", "p1"):
        with pytest.raises(WrongAnswer, match="no answer"):
            answers.value(probe)
        with pytest.raises(WrongAnswer, match="no answer"):
            answers.error(probe)
    with pytest.raises(WrongAnswer, match="too large"):
        answers.error("p2")
    assert answers.error("p3") == ("ValueError", "no")
    linked = tmp_path / "other" / "out"
    linked.parent.mkdir()
    linked.symlink_to(out)
    with pytest.raises(WrongAnswer, match="no answer"):
        Answers(linked).error("p3")
    (out / "_cells.json").write_text('{"errors": [], "last": "\\u001b[2J"}')
    assert Grader.cell_problems(out) == ["the notebook stopped in cell ?"]
    (out / "_cells.json").write_text("[" * 100_000)
    assert Grader.cell_problems(out) == ["the notebook did not start"]


def _keras_bytes(model) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.keras"
        model.save(path)
        return path.read_bytes()


def _with_config(data: bytes, edit) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    members["model.weights.h5"] = b"not HDF5 at all: never read"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, member in members.items():
            target.writestr(name, member)
    return buffer.getvalue()


def test_a_model_is_costed_from_its_config_before_it_is_built():
    """G3, G4: layers off the allowlist, huge layers, slow layers and carried weights are
    refused from the config alone; the weights file is never parsed."""
    import keras

    from tools.grading import models
    from tools.grading.plan import WrongAnswer

    def small(*middle):
        inputs = keras.Input((28, 28, 1))
        x = inputs
        for layer in (*middle, keras.layers.Conv2D(4, 3), keras.layers.Flatten()):
            x = layer(x)
        return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))

    plain = _keras_bytes(small())
    assert models.load_model(_with_config(plain, lambda c: None)).count_params() == 27_090

    def huge_dense(config):
        config["config"]["layers"][-1]["config"]["units"] = 10**9

    def constant(config):
        config["config"]["layers"][1]["config"]["kernel_initializer"] = {
            "module": "keras.initializers",
            "class_name": "Constant",
            "config": {"value": 0.5},
        }

    def array(config):
        config["config"]["layers"][1]["config"]["bias_initializer"]["config"] = {
            "value": list(range(4 * 9))
        }

    def huge_kernel(config):  # a 40x40 window on a 28x28 image
        config["config"]["layers"][1]["config"]["kernel_size"] = [40, 40]

    def true_filters(config):  # JSON true is not a number of kernels
        config["config"]["layers"][1]["config"]["filters"] = True

    def odd_padding(config):
        config["config"]["layers"][1]["config"]["padding"] = "causal"

    for edit, message in [
        (huge_dense, "Dense units"),
        (constant, "Constant"),
        (array, "array"),
        (huge_kernel, "A window of 40 does not fit in an input of 28"),
        (true_filters, "filters"),
        (odd_padding, "padding causal is not allowed"),
    ]:
        with pytest.raises(WrongAnswer, match=message):
            models.load_model(_with_config(plain, edit), max_params=20_000)
    upsampled = _keras_bytes(small(keras.layers.UpSampling2D((4, 4))))
    with pytest.raises(WrongAnswer, match="UpSampling2D"):
        models.load_model(upsampled)
    wide = _keras_bytes(small(keras.layers.Conv2D(256, 5, padding="same")))
    with pytest.raises(WrongAnswer, match="multiply-adds"):
        models.load_model(wide, max_params=10**7, max_macs=5_000_000)


def test_limits_are_never_dropped(monkeypatch, tmp_path):
    """G5: without prlimit there is no sandbox; thread pools are capped."""
    which = sandbox.shutil.which
    monkeypatch.setattr(
        sandbox.shutil, "which", lambda name: None if name == "prlimit" else which(name)
    )
    if sandbox.bwrap_path() is None:
        pytest.skip("needs bubblewrap")
    with pytest.raises(sandbox.SandboxUnavailable, match="prlimit"):
        sandbox.bwrap_command(
            tmp_path,
            ["true"],
            environment={},
            mounts=sandbox.Mounts(),
            runner=tmp_path / "r.py",
            limits=sandbox.Limits(),
        )
    environment = sandbox.sandbox_environment()
    assert all(
        int(environment[name]) <= 4
        for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    )


def test_build_check_without_a_sandbox_says_why(built, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(SystemExit, match="Refusing to check: bubblewrap"):
        make_assignments.main([NAME, "--check", "--out", str(built)])


def test_written_answers_cannot_make_headings():
    """G7: an answer is quoted: its Markdown cannot fake another student's heading."""
    from markdown_it import MarkdownIt

    answer = "fine\n````\n\n# mallory.ipynb\n\n## Question 1\nfull marks\n```"
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "**Question 3.** Why?"},
            {
                "cell_type": "markdown",
                "metadata": {"tags": ["otter_answer_cell"]},
                "source": answer,
            },
        ]
    }
    text = report.written_answers_text([("alice\x1b[2J.ipynb", notebook), ("bob.ipynb", None)])
    headings = [token.map[0] for token in MarkdownIt().parse(text) if token.type == "heading_open"]
    assert len(headings) == 3, text
    assert "\x1b" not in text and "mallory" in text


def test_assignment_4_trains_with_the_books_recipe(tmp_path, monkeypatch):
    """G10: whatever the student compiled with, the grader trains with rmsprop, batches of 64."""
    import keras
    import numpy as np

    from cnnbook import mnist
    from tools.grading import assignments
    from tools.grading.plan import Answers

    plan = assignments.plan_for("04_mnist", np.random.default_rng(0))
    (probe,) = [p for p in plan.probes if p.kind == "model"]
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, strides=2)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.SGD(1e-9), loss="sparse_categorical_crossentropy")
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{probe.id}.keras").write_bytes(_keras_bytes(model))
    (out / f"{probe.id}.json").write_text('{"ok": true, "model": true}')
    used = {}

    def record(model, images, labels, **kwargs):
        used.update(optimizer=type(model.optimizer).__name__, **kwargs)
        raise StopIteration

    monkeypatch.setattr(mnist, "train", record)
    monkeypatch.setattr("cnnbook.data.load_mnist", lambda: ((np.zeros((1, 28, 28)),) * 2,) * 2)
    (check,) = [c for c in plan.checks if c.what == "accuracy after short training"]
    with pytest.raises(StopIteration):
        check.mark(Answers(out))
    assert used["optimizer"] == "RMSprop"
    assert used.get("batch_size", mnist.BATCH_SIZE) == 64


def test_read_only_mounts_under_the_sandbox_home_stay_visible_and_read_only(tmp_path):
    """A venv or data folder in the host's /tmp (a fresh clone there) is not hidden.

    The sandbox's own folder is mounted at ``SANDBOX_HOME`` (/tmp); a read-only mount that
    lies under that path must still be seen inside, or a grader run from a checkout in /tmp
    cannot even start its interpreter. It stays read-only, and the host's copy unchanged.
    """
    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as error:
        pytest.skip(str(error))
    beside_home = Path(tempfile.mkdtemp(dir=sandbox.SANDBOX_HOME, prefix="mounted-"))
    answer = beside_home / "answer.txt"
    script = (
        f"print(open({str(answer)!r}).read())\n"
        f"for path in ({str(answer)!r}, {str(beside_home / 'new.txt')!r}):\n"
        "    try:\n"
        "        open(path, 'a').write('forged')\n"
        "        print('WROTE', path)\n"
        "    except OSError as error:\n"
        "        print('REFUSED', error.errno)\n"
    )
    try:
        answer.write_text("visible 4711")
        mounts = sandbox.python_mounts()
        mounts.add(beside_home)
        (tmp_path / "runner.py").write_text("")
        folder = sandbox.make_folder()
        try:
            argv = sandbox.bwrap_command(
                folder,
                [sys.executable, "-c", script],
                environment=sandbox.sandbox_environment(),
                mounts=mounts,
                runner=tmp_path / "runner.py",
                limits=sandbox.Limits(seconds=60),
            )
            outcome = sandbox.run(argv, seconds=60)
        finally:
            sandbox.remove_folder(folder)
        host_after = sorted(p.name for p in beside_home.iterdir()), answer.read_text()
    finally:
        shutil.rmtree(beside_home)
    assert outcome.returncode == 0, outcome.log_tail
    assert "visible 4711" in outcome.log_tail
    assert "WROTE" not in outcome.log_tail and outcome.log_tail.count("REFUSED") == 2
    assert host_after == (["answer.txt"], "visible 4711")


@pytest.mark.parametrize(
    "target",
    ["/", "/tmp", "/tmp/", "//tmp", "/tmp/x/..", "/tmp/work", "/tmp/out/data", "tmp/fresh"],
)
def test_a_mount_that_would_hide_the_sandbox_folder_is_refused(tmp_path, target):
    assert sandbox.SANDBOX_HOME == "/tmp"  # the targets above are written for it
    mounts = sandbox.Mounts()
    mounts.add(tmp_path, target)
    with pytest.raises(sandbox.SandboxUnavailable, match="hide the sandbox's|relative target"):
        sandbox.check_mounts(mounts)


def test_a_venv_in_the_hosts_tmp_is_not_refused(tmp_path):
    mounts = sandbox.Mounts()
    mounts.add(tmp_path, "/tmp/fresh/.venv")
    mounts.add(tmp_path, "/tmp/workshop")  # beside /tmp/work, not in it
    sandbox.check_mounts(mounts)


def test_a_refused_mount_stops_the_grader_once_with_a_reason(built, tmp_path, monkeypatch):
    """Refused when the grader starts, to the teacher: not a zero row for every student."""
    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as error:
        pytest.skip(str(error))
    hiding = sandbox.Mounts()
    hiding.add(tmp_path, sandbox.SANDBOX_HOME)
    monkeypatch.setattr(sandbox, "python_mounts", lambda: hiding)
    (tmp_path / "a.ipynb").write_text("{}")
    with pytest.raises(SystemExit, match="hide the sandbox's writable folder"):
        make_assignments.main(["grade", NAME, str(tmp_path), "--out", str(built)])

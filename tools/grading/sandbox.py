"""Run one untrusted command in a bubblewrap sandbox, with limits, and clean up after it.

The sandbox sees a read-only view of the system's programs and libraries, of the Python
environment and of the data; its own folder is the only place it can write. It has no
network, an empty environment, its own process tree and ``/proc``, and limits on time,
memory, processes and file size. ``bwrap`` (Debian's ``bubblewrap``) needs Linux with
unprivileged user namespaces.
"""

from __future__ import annotations

import atexit
import os
import posixpath
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: Inside the sandbox: its writable folder, and where the runner script is mounted.
SANDBOX_HOME = "/tmp"
RUNNER_PATH = "/opt/grader/run_notebook.py"
#: The parts of the writable folder (``make_folder``).
FOLDER_PARTS = ("work", "out", "home", "scratch")
PACKAGE_ROOT = "/opt/cnnbook-src"

#: Parts of /etc programs need (dynamic linker, fonts, time zone); never all of /etc.
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/fonts",
    "/etc/localtime",
    "/etc/mime.types",
)


#: Threads a notebook's numerical libraries may start (per pool).
THREADS = str(min(4, os.cpu_count() or 1))

#: How much of a sandbox's output is kept (its end), and read back at most.
LOG_TAIL_BYTES = 4000


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make a sandbox here (and why)."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    seconds: float = 300.0
    memory_bytes: int = 8 * 2**30  # address space; TensorFlow needs several GiB of it
    # Threads count as processes, and TensorFlow starts about two per CPU.
    processes: int = field(default_factory=lambda: max(256, 8 * (os.cpu_count() or 1)))
    file_bytes: int = 256 * 2**20


@dataclass
class Outcome:
    """How a sandboxed run ended."""

    returncode: int | None
    seconds: float
    timed_out: bool = False
    log_tail: str = ""

    @property
    def reason(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s"
        if self.returncode is None or self.returncode == 0:
            return ""
        if self.returncode < 0 or self.returncode > 128:
            number = -self.returncode if self.returncode < 0 else self.returncode - 128
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            return f"the notebook's process died ({name})"
        return f"the notebook's process exited with status {self.returncode}"


@dataclass
class Mounts:
    """Read-only folders the sandbox sees, at the same path unless a target is given."""

    read_only: list[tuple[str, str]] = field(default_factory=list)

    def add(self, source: Path | str, target: str | None = None) -> None:
        source = str(Path(source).resolve())
        pair = (source, target or source)
        if pair not in self.read_only:
            self.read_only.append(pair)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def package_folder() -> Path:
    """The folder of the ``cnnbook`` package the grader itself imports."""
    import cnnbook

    return Path(cnnbook.__file__).resolve().parent


def python_mounts() -> Mounts:
    """The Python environment (venv and the interpreter it was made from) and cnnbook."""
    mounts = Mounts()
    for root in ("/usr", "/opt/conda"):
        if Path(root).is_dir():
            mounts.add(root)
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        if not prefix.startswith("/usr/"):
            mounts.add(prefix)
    package = package_folder()
    mounts.add(package, f"{PACKAGE_ROOT}/cnnbook")
    if not (package / "assets").is_dir():  # a checkout: the photo sits in its assets/
        from cnnbook.data import kittens_path

        mounts.add(kittens_path(), str(Path(PACKAGE_ROOT).parent / "assets" / "kittens.jpg"))
    return mounts


def _covers(outer: str, inner: str) -> bool:
    """Whether a mount at ``outer`` would cover the path ``inner`` (itself or a parent)."""
    outer_path = PurePosixPath(posixpath.normpath("/" + outer.lstrip("/")))
    inner_path = PurePosixPath(posixpath.normpath("/" + inner.lstrip("/")))
    return inner_path == outer_path or outer_path in inner_path.parents


def check_mounts(mounts: Mounts) -> None:
    """Raise SandboxUnavailable if a read-only mount would hide the sandbox's writable
    folder or one of its parts (the notebook, its results, its home)."""
    parts = [f"{SANDBOX_HOME}/{part}" for part in FOLDER_PARTS]
    for source, target in mounts.read_only:
        if not target.startswith("/"):
            raise SandboxUnavailable(f"{source} has a relative target in the sandbox: {target}")
        # over the folder or a part of it, or inside a part (a mount in /tmp itself, like a
        # venv in the host's /tmp, is fine: it is mounted over the folder, beside the parts)
        for hidden in (SANDBOX_HOME, *parts):
            if _covers(target, hidden) or (hidden in parts and _covers(hidden, target)):
                raise SandboxUnavailable(
                    f"{source} would be mounted at {target} and hide the sandbox's writable "
                    f"folder {hidden}: install the Python environment (or put the data) "
                    "somewhere else"
                )


def bwrap_command(
    folder: Path,
    command: list[str],
    *,
    environment: dict[str, str],
    mounts: Mounts,
    runner: Path,
    limits: Limits,
) -> list[str]:
    """The whole ``bwrap`` command line: nothing of the host but what is listed is visible."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed (Debian: apt-get install bubblewrap)")
    argv = [
        bwrap,
        "--unshare-all",  # user, pid, network, ipc, uts, cgroup namespaces
        "--die-with-parent",  # the sandbox ends when the grader does, even on SIGKILL
        "--new-session",  # no TIOCSTI into the teacher's terminal
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]
    for link, target in (
        ("/bin", "usr/bin"),
        ("/lib", "usr/lib"),
        ("/lib64", "usr/lib64"),
        ("/sbin", "usr/sbin"),
    ):
        if Path(link).is_symlink():
            argv += ["--symlink", target, link]
        elif Path(link).is_dir():
            argv += ["--ro-bind", link, link]
    for path in ETC_FILES:
        argv += ["--ro-bind-try", path, path]
    # The writable folder goes first: a read-only mount that lies under it (a venv or the
    # data in the host's /tmp) is mounted on top and stays visible, not hidden beneath it.
    argv += ["--bind", str(folder), SANDBOX_HOME]
    check_mounts(mounts)
    for source, target in mounts.read_only:
        argv += ["--ro-bind", source, target]
    argv += ["--ro-bind", str(runner), RUNNER_PATH]
    argv += ["--remount-ro", "/"]  # the sandbox's own root too: only its folder is writable
    argv += ["--chdir", f"{SANDBOX_HOME}/work"]
    for name, value in sorted(environment.items()):
        argv += ["--setenv", name, value]
    prlimit = shutil.which("prlimit")
    if prlimit is None:  # without it the memory, process and file-size limits would be lost
        raise SandboxUnavailable("prlimit is not installed (Debian: apt-get install util-linux)")
    limit = [
        prlimit,
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_bytes}",
        "--core=0",
        "--",
    ]
    return argv + ["--", *limit, *command]


def sandbox_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The few variables a notebook needs; nothing from the teacher's environment."""
    environment = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": f"{SANDBOX_HOME}/home",
        "TMPDIR": f"{SANDBOX_HOME}/scratch",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{SANDBOX_HOME}/home/.matplotlib",
        "PYTHONPATH": PACKAGE_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LANG": "C.UTF-8",
        # One submission should not take every core of the teacher's machine.
        "OMP_NUM_THREADS": THREADS,
        "TF_NUM_INTRAOP_THREADS": THREADS,
        "TF_NUM_INTEROP_THREADS": THREADS,
    }
    environment.update(extra or {})
    return environment


_LIVE_FOLDERS: set[Path] = set()


def make_folder(prefix: str = "grade-") -> Path:
    """A fresh sandbox folder: ``work`` (the notebook), ``out`` (results), ``home``."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    _LIVE_FOLDERS.add(folder)
    for name in FOLDER_PARTS:
        (folder / name).mkdir()
    return folder


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    _LIVE_FOLDERS.discard(folder)


@atexit.register
def _remove_live_folders() -> None:
    """At exit, even after an error, no sandbox folder is left behind."""
    for folder in list(_LIVE_FOLDERS):
        remove_folder(folder)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def wait_or_kill(process: subprocess.Popen, seconds: float) -> tuple[int | None, bool]:
    """Wait for ``process`` at most ``seconds``; kill its whole group if it runs longer.

    Returns ``(returncode, timed_out)``; whatever interrupts the wait kills it too.
    """
    try:
        return process.wait(timeout=seconds), False
    except subprocess.TimeoutExpired:
        _kill(process)
        return None, True
    except BaseException:
        _kill(process)
        raise


def supervise(argv: list[str], seconds: float, *, before_wait=None, **popen) -> Outcome:
    """Run ``argv`` with a wall-clock limit, its output into a file nobody else can reach.

    The log is an anonymous temporary file of the grader's (not in the sandbox's folder,
    where the notebook could swap it for a FIFO or a symlink); its end is read back
    through the same descriptor, bounded. ``before_wait(process)`` runs once it started.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )
        try:
            if before_wait is not None:
                before_wait(process)
        except BaseException:
            _kill(process)
            raise
        returncode, timed_out = wait_or_kill(process, seconds)
        tail = log_tail(log)
    return Outcome(returncode, time.perf_counter() - started, timed_out, tail)


def run(argv: list[str], *, seconds: float) -> Outcome:
    """Run ``argv`` (a bwrap command) with a wall-clock limit.

    bwrap's own process is the sandbox's process 1, whose command line and environment
    the notebook can read in ``/proc/1``: so bwrap gets an empty environment, and its
    options (with the host's paths) through a pipe (``--args``), not on its command line;
    only the command, with paths inside the sandbox, stays there.
    """
    split = argv.index("--")
    options, command = argv[1:split], argv[split:]
    read_end, write_end = os.pipe()
    still_open = {read_end, write_end}

    def send_options(process):
        os.close(read_end)
        still_open.discard(read_end)
        with os.fdopen(write_end, "wb") as arguments:
            still_open.discard(write_end)
            arguments.write(b"".join(os.fsencode(a) + b"\0" for a in options))

    try:
        return supervise(
            [argv[0], "--args", str(read_end), *command],
            seconds,
            before_wait=send_options,
            pass_fds=(read_end,),
            env={"PATH": "/usr/bin:/bin"},
        )
    finally:
        for end in still_open:
            os.close(end)


def log_tail(log, size: int = LOG_TAIL_BYTES) -> str:
    """The end of a sandbox's output (an open binary file), as text: untrusted."""
    log.seek(0, os.SEEK_END)
    log.seek(max(0, log.tell() - size))
    return log.read(size).decode("utf-8", "replace")


def check_available() -> None:
    """Raise SandboxUnavailable, saying why, unless a sandbox can be made here."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"the sandbox needs Linux (bubblewrap); this is {sys.platform}")
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed: apt-get install bubblewrap (Debian, Ubuntu), "
            "dnf install bubblewrap (Fedora)"
        )
    result = subprocess.run(
        [
            bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise SandboxUnavailable(
            "bubblewrap cannot make a sandbox here (unprivileged user namespaces are "
            f"probably disabled, e.g. kernel.unprivileged_userns_clone=0 or an AppArmor "
            f"policy): {result.stderr.strip()}"
        )

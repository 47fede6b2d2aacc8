"""Executors fail fast on a bad scheduler, and their worker processes die with the command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
ENV = os.environ | {"PYTHONPATH": str(ROOT)}  # this checkout's sim, not an installed one


def sim(*argv: str | Path, output: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    """``python -m sim argv...`` in a child process, stdout and stderr to ``output``."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, argv)],
        stdout=output,
        stderr=output,
        text=True,
        cwd=ROOT,
        env=ENV,
    )


@pytest.fixture
def http_server() -> Iterator[int]:
    """A loopback HTTP server (not dask) on a free port; yields the port."""
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 41234 (...) ..."
        yield int(line.split(" port ")[1].split()[0])
    finally:
        server.kill()
        server.communicate()


@pytest.fixture
def banner_server() -> Iterator[int]:
    """A loopback server that greets every connection with an SSH banner; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed by the fixture
                return
            conn.sendall(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
            accepted.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


def run_on_scheduler(port: int, tmp_path: Path) -> tuple[int, str, float]:
    """``sim run`` on dask at ``tcp://127.0.0.1:port`` with ``--timeout 3``: code, stderr, s."""
    start = time.monotonic()
    child = sim(
        "run", BASELINE, "--replications", "2", "--out", tmp_path / "out", "--quiet",
        "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}", "--timeout", "3",
    )  # fmt: skip
    try:
        _, err = child.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("sim run kept waiting for a server that does not speak dask")
    return child.returncode, err, time.monotonic() - start


def test_a_server_that_never_answers_as_dask_fails_within_the_timeout(http_server, tmp_path):
    code, err, seconds = run_on_scheduler(http_server, tmp_path)
    assert code == 2
    assert err == (
        f"sim: error: {BASELINE}: field 'scheduler': --scheduler: cannot connect to the dask "
        f"scheduler at tcp://127.0.0.1:{http_server} within 3 s (TimeoutError); check that it "
        "runs and listens there\n"
    )
    assert seconds < 3 + 20  # the timeout, plus starting Python and loading the data
    assert not (tmp_path / "out").exists()


def test_a_server_that_answers_other_bytes_is_one_line_naming_the_scheduler(
    banner_server, tmp_path
):
    code, err, _ = run_on_scheduler(banner_server, tmp_path)
    assert code == 2
    assert err == (
        f"sim: error: {BASELINE}: field 'scheduler': --scheduler: tcp://127.0.0.1:{banner_server} "
        "answered, but not as a dask scheduler (MemoryError)\n"
    )


def command(process: psutil.Process) -> str:
    """The command line of a process ("" once it has ended)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes still running (a zombie waiting to be reaped has ended)."""
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.parametrize(
    "argv",
    [
        ["run", BASELINE, "--replications", "50000", "--chunk-size", "50", "--executor", "local"],
        ["recover", BASELINE, "--records", "4"],
    ],
    ids=["run", "recover"],
)
def test_workers_die_when_the_command_is_killed(argv, tmp_path):
    # Output to a file: surviving workers would hold a pipe open, and reading it would hang.
    log = tmp_path / "log.txt"
    with log.open("w") as output:
        child = sim(*argv, "--workers", "2", "--out", tmp_path / "out", output=output)
    parent = psutil.Process(child.pid)
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            descendants = parent.children(recursive=True)
            if sum("popen_loky_posix" in command(p) for p in descendants) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"no two workers started: {log.read_text()[-2000:]}")
        time.sleep(1)  # the workers are at work
        descendants = parent.children(recursive=True)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 5
        while alive(descendants) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert alive(descendants) == []
    finally:
        for p in alive(descendants):  # leave nothing behind, even when the test fails
            p.kill()
        if child.poll() is None:
            child.kill()
            child.wait()


def test_make_executor_names_the_executor_that_runs():
    from sim.experiment.executors import DaskExecutor, LocalExecutor, make_executor

    assert make_executor("local", 1).name == "serial"  # one worker: no process to start
    assert isinstance(make_executor("local", 2), LocalExecutor)
    remote = make_executor("dask", 2, "tcp://127.0.0.1:8786")
    assert isinstance(remote, DaskExecutor) and not remote.shares_disk
    assert make_executor("dask", 2).shares_disk  # a LocalCluster on this machine
    with pytest.raises(ValueError, match=r"^unknown executor 'ray'; known: serial, local, dask$"):
        make_executor("ray", 2)


def test_dask_groups_consecutive_chunks_of_a_job_into_about_32_tasks_a_worker():
    from sim.experiment.executors import _batches
    from sim.experiment.plan import Task

    a, b = object(), object()
    work = [(a, Task(0, 0, 10 * i, 10)) for i in range(300)]
    work += [(b, Task(1, 0, 10 * i, 10)) for i in range(5)]
    batches = list(_batches(work, workers=2))
    assert [t for _, tasks in batches for t in tasks] == [t for _, t in work]  # all, in order
    assert all(len({id(job) for job, t in work if t in tasks}) == 1 for _, tasks in batches)
    assert len(batches) == -(-300 // 4) + -(-5 // 4)  # 305 // (2 * 32) = 4 chunks a task
    assert [len(tasks) for _, tasks in _batches(work[:10], workers=2)] == [1] * 10


def test_local_dask_workers_keep_glibc_default_allocation_thresholds():
    from sim.experiment.executors import DaskExecutor

    with DaskExecutor(workers=1) as executor:
        seen = executor.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(seen.values()) == [None]  # dask's nanny would set 65536 (see executors.py)


def test_a_local_cluster_does_not_claim_port_8787_or_warn_when_another_holds_it(recwarn):
    """Another dask cluster on 8787 once made every local one warn (and bind its HTTP there)."""
    from sim.experiment.executors import DaskExecutor

    other = socket.socket()
    with other:
        try:  # stand in for another cluster's dashboard (or it is held already: just as good)
            other.bind(("127.0.0.1", 8787))
            other.listen()
        except OSError:
            pass
        with DaskExecutor(workers=1) as executor:
            http = executor.cluster.scheduler.http_server.port
    assert http != 8787
    assert [str(w.message) for w in recwarn if "8787" in str(w.message)] == []

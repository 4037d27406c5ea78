"""``clearance serve --workers N``: N worker processes serving one listening socket.

The parent takes the socket (``cli._listen``), checks the configuration once (so a bad
database or key directory is refused with its exit code before any worker starts), then
forks the workers. Each worker builds its own context (its own engine and connection
pool: nothing opened in the parent crosses a fork) and runs uvicorn on the inherited
socket; the kernel hands each new connection to one of the workers blocked in
``accept``. The parent only supervises:

- a worker that ends while the server is not stopping (killed, crashed) is replaced by a
  new one on the same socket; one that ends within ``QUICK_SECONDS`` of its start is
  replaced after a delay that doubles each time (up to ``MAX_DELAY_SECONDS``), so a worker
  that cannot start does not spin;
- SIGTERM or SIGINT to the parent is passed to every worker (uvicorn's graceful shutdown:
  requests in flight are finished), then the parent waits for them and returns.

Nothing needs the workers to agree in memory: deconfliction, tokens, scenario versions
and keys are read from the database in each unit of work, and the audit log is
integrated under the row lock of ``audit_head`` (one integrator at a time whichever
worker's sweeper runs; see ``adapters/sql_audit.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

POLL_SECONDS = 0.2
QUICK_SECONDS = 5.0
MAX_DELAY_SECONDS = 10.0
STOP_SECONDS = 30.0


_Handler = Callable[[int, FrameType | None], Any] | int | None


@dataclass
class _Worker:
    slot: int
    started: float
    delay: float = 0.0


def supervise(listening: socket.socket, workers: int, run: Callable[[], None]) -> int:
    """Fork ``workers`` processes that each call ``run()`` (serve ``listening`` until
    SIGTERM) and keep that many alive until the parent gets SIGTERM or SIGINT. Returns
    the exit code for the parent: 0 after a requested stop."""
    stopping: list[int] = []

    def stop(signum: int, _: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    alive: dict[int, _Worker] = {}
    try:
        for slot in range(workers):
            _start(alive, _Worker(slot, time.monotonic()), run, previous)
        while not stopping:
            ended = _reap(alive)
            if ended is None:
                time.sleep(POLL_SECONDS)
                continue
            pid, status, worker = ended
            quick = time.monotonic() - worker.started < QUICK_SECONDS
            worker.delay = min(max(worker.delay * 2, 0.5), MAX_DELAY_SECONDS) if quick else 0.0
            _say(
                f"worker {worker.slot} (pid {pid}) ended ({_how(status)}); "
                f"starting another{f' in {worker.delay:g} s' if worker.delay else ''}"
            )
            deadline = time.monotonic() + worker.delay
            while not stopping and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            if not stopping:
                worker.started = time.monotonic()
                _start(alive, worker, run, previous)
    finally:
        _stop_all(alive)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _start(
    alive: dict[int, _Worker],
    worker: _Worker,
    run: Callable[[], None],
    handlers: dict[signal.Signals, _Handler],
) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the parent's code
        code = 70
        try:
            for signum, handler in handlers.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            run()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    alive[pid] = worker
    _say(f"worker {worker.slot} started (pid {pid})")


def _reap(alive: dict[int, _Worker]) -> tuple[int, int, _Worker] | None:
    try:
        pid, status = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return None
    if pid == 0 or pid not in alive:
        return None
    return pid, status, alive.pop(pid)


def _stop_all(alive: dict[int, _Worker]) -> None:
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while alive and time.monotonic() < deadline:
        if _reap(alive) is None:
            time.sleep(0.05)
    for pid in alive:  # did not stop in time
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _say(line: str) -> None:
    print(f"clearance serve: {line}", file=sys.stderr, flush=True)

"""The worker processes of the local backend's two heavy loops, made one way.

Batch ingest extracts features in worker processes (:meth:`ris_local.extraction.Extractor.processes`)
and ``find_duplicates`` scores its candidate pairs in them
(:mod:`ris_local.index.self_join`). Both are Python between many short C calls
(OpenCV, numpy), so threads would serialise on the interpreter's lock; processes do not.
Both take their processes from here, so they share one fork server, warmed once by
:mod:`ris_local.worker_preload` (started by ``find_duplicates``, it skips that warm-up,
which only extraction uses, and an extraction worker forked from it warms itself), and
set every worker up the same way: OpenCV on one
thread (the pool already runs one worker per core) and faiss's idle OpenMP threads
asleep rather than spinning.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import select
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ris_core.errors import InvalidCountError

__all__ = [
    "WORKER_OPENCV_THREADS",
    "check_workers",
    "pool_size",
    "prepare_worker",
    "process_pool",
    "start_fork_server",
    "usable_cores",
]

#: OpenCV threads in a worker process: the pool runs one worker per core already.
WORKER_OPENCV_THREADS = 1

#: Imported by the fork server before it forks the first worker (see :mod:`ris_local.worker_preload`).
_PRELOAD = "ris_local.worker_preload"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool_size(workers: int) -> int:
    """How many of ``workers`` processes can be had here: 1 (the calling process alone)
    where no fork server can start (not on Linux or macOS) or this process may have no
    children (a daemonic process, such as another pool's worker)."""
    if workers < 2 or multiprocessing.current_process().daemon:
        return 1
    return workers if "forkserver" in multiprocessing.get_all_start_methods() else 1


def check_workers(workers: int | None) -> int | None:
    """``workers`` as given (None: one per usable core, decided when the work starts);
    :class:`~ris_core.errors.InvalidCountError` unless it is a whole number of at least 1."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidCountError(f"workers must be a whole number of at least 1 (or None: every core), not {workers!r}")
    return workers


def prepare_worker(warm: bool = True) -> None:
    """Set up a worker process before its first task (every pool's initializer calls it).
    ``warm``: load the extraction's warm-up (:mod:`ris_local.worker_preload`) too; a pool
    that never extracts (``find_duplicates``' scoring) does without it."""
    # Idle OpenMP threads (faiss) must sleep, not spin, on a machine the pool keeps busy
    # (only effective before faiss is imported: the preload module sets it first).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Set here too: a fork server another part of the program started has not run the preload.
    import cv2  # here, not above: ``ris index`` imports this module to start the fork server early

    cv2.setNumThreads(WORKER_OPENCV_THREADS)
    # Then the worker warms itself (one forked from a preloaded server finds the module
    # imported already, at no cost).
    if warm:
        importlib.import_module(_PRELOAD)


def _context(modules: Sequence[str], warm: bool) -> multiprocessing.context.ForkServerContext:
    # forkserver: forking a process that runs threads (an ingest's, a server's) is unsafe.
    context = multiprocessing.get_context("forkserver")
    # Only takes effect when this starts the fork server (a later pool reuses it).
    # "__main__" is multiprocessing's own default, kept.
    context.set_forkserver_preload(["__main__", *([_PRELOAD] if warm else []), *modules])
    return context


def start_fork_server(modules: Sequence[str] = (), warm: bool = True) -> None:
    """Start the fork server now, without waiting for it: its imports and, with ``warm``,
    the extraction's warm-up (:mod:`ris_local.worker_preload`; 0.7-1.0 s of CPU the
    first time in a program, 0.5-0.8 s without the warm-up) then run while the caller works,
    and a pool made later forks its workers at once. Nothing happens if it runs already
    (a server started without the warm-up leaves each extraction worker to warm itself)."""
    _context(modules, warm)
    multiprocessing.forkserver.ensure_running()


def process_pool(
    count: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
    modules: Sequence[str] = (),
    warm: bool = True,
) -> ProcessPoolExecutor:
    """A pool of ``count`` worker processes forked from the shared fork server (which
    imports ``modules`` too, and with ``warm`` the extraction's warm-up, if this starts
    it); ``initializer`` must call :func:`prepare_worker` first. Each worker ends when the
    calling process does, however that ends (:func:`_end_with`)."""
    return ProcessPoolExecutor(
        count,
        mp_context=_context(modules, warm),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


#: How often a worker without ``os.pidfd_open`` (not Linux) looks whether its pool's maker lives.
_LIVENESS_POLL_SECONDS = 1.0


def _start_worker(maker: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    _end_with(maker)
    initializer(*initargs)


def _end_with(maker: int) -> None:
    """End this worker when the process ``maker`` that made its pool ends. A pool's worker
    holds both ends of its own task queue and the fork server's liveness pipe, so when its
    maker is killed (SIGKILL, out of memory) it never reads an end of file: without this,
    the workers and the fork server would wait for tasks for ever, about 100 MB each."""

    def watch() -> None:
        try:
            handle = os.pidfd_open(maker)
        except (AttributeError, OSError):  # not Linux, or the maker is gone already
            handle = None
        if handle is not None:
            select.select([handle], [], [])  # readable once the maker has ended
        else:
            while _alive(maker):
                time.sleep(_LIVENESS_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="ris-worker-liveness", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user took the number: the maker is gone
        return False
    return True

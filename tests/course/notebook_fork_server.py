"""A notebook runner that computes the unchanged prefix of a notebook once and forks for each
variant.

Used by tests/test_mistakes.py. The mistake catalogue runs the same solution notebook about
twenty times, each time with one solution cell changed. Every cell *before* the changed one is
the reference, so this process runs the reference cells in order, in one IPython shell (not a
kernel: no ZeroMQ, so ``os.fork`` is safe), and for each variant forks a child at the changed
cell. The child runs the changed cell and the rest of the notebook up to its last test cell and
reports which test cells raised; the parent keeps the reference state for the next variant.
Results are the same as running the whole changed notebook from the top: the child starts from
exactly the state (objects, random number generators, files) that the reference cells leave.

Protocol (length-prefixed pickles on stdin/stdout; the notebook's own output goes to /dev/null):

- ``("cells", notebook_dir, [(source, test_id_or_None), ...], cell_timeout)``: once, first;
- ``("run", k, source)``: run code cell ``k`` with ``source`` (the changed cell) and the cells
  after it in a forked child; ``source`` may also be ``{index: source}`` of every changed cell
  (all at ``k`` or after), for variants that change several cells. Answer:
  ``{test_id: (ok, "Name: message")}`` for every test cell, or ``"behind"`` when this process
  has already run past cell ``k`` (start a new one).

Requirements: single-threaded torch (``OMP_NUM_THREADS=1``: forking after a multi-threaded
OpenMP region can hang the child) and no data-loader worker processes (the course's fast mode
uses none). POSIX only.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys


class CellTimeoutError(Exception):
    """A cell ran longer than the per-cell limit (nbgrader's ``timeout``)."""


def send(stream, obj) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def receive(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", header)
    return pickle.loads(stream.read(n))


def main() -> None:
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history database shared by the forked children
    shell = InteractiveShell.instance(config=config)
    shell.showtraceback = lambda *a, **k: None  # tracebacks would only go to /dev/null

    _, notebook_dir, cells, cell_timeout = receive(requests)
    os.chdir(notebook_dir)
    sys.path[0] = ""  # as in a kernel: the working directory (the notebook's), not tests/

    def on_alarm(signum, frame):
        raise CellTimeoutError(f"no reply within {cell_timeout} s")

    signal.signal(signal.SIGALRM, on_alarm)

    def run_cell(source: str) -> tuple[bool, str]:
        signal.alarm(cell_timeout)
        try:
            result = shell.run_cell(source, store_history=False)
        finally:
            signal.alarm(0)
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            return True, ""
        return False, f"{type(error).__name__}: {error}"

    done = 0  # cells of the reference already run in this process
    reference = {}  # test id -> result, for the test cells among them
    while True:
        try:
            request = receive(requests)
        except EOFError:
            return
        _, k, source = request
        changes = source if isinstance(source, dict) else {k: source}
        if k < done:
            send(answers, "behind")
            continue
        for i in range(done, k):
            ok, err = run_cell(cells[i][0])
            if cells[i][1]:
                reference[cells[i][1]] = (ok, err)
        done = k
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the changed cell and the rest, each test result sent as it comes
            os.close(read_end)
            out = os.fdopen(write_end, "wb")
            try:
                for i in range(k, len(cells)):
                    ok, err = run_cell(changes.get(i, cells[i][0]))
                    if cells[i][1]:
                        send(out, (cells[i][1], ok, err))
            finally:
                out.close()
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as stream:
            child_results = []
            while True:
                try:
                    child_results.append(receive(stream))
                except (EOFError, pickle.UnpicklingError):  # the end, or a child killed mid-message
                    break
        _, status = os.waitpid(pid, 0)
        results = dict(reference)
        results.update({test_id: (ok, err) for test_id, ok, err in child_results})
        for _, test_id in cells[k:]:
            if test_id and test_id not in results:
                results[test_id] = (
                    False,
                    f"KernelDied: the notebook's process ended (status {status})",
                )
        send(answers, results)


if __name__ == "__main__":
    main()

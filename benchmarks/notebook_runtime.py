"""Run solution notebooks top to bottom in full mode (not the fast mode of tests) and time them.

Usage::

    python benchmarks/notebook_runtime.py solutions/05_pix2pixhd/05_pix2pixhd.ipynb [...]
        [--timeout 1800] [--no-record] [--save-dir DIR]

Each notebook runs in a fresh kernel (nbclient) in its own folder, with ``PIX2PIX_FAST`` and
``NBGRADER_EXECUTION`` removed from the environment, so every training cell runs its full budget.
One record per notebook goes to ``results/notebook_runtime.jsonl``::

    {"notebook", "ok", "error", "wall_seconds", "kernel_cpu_seconds", "load_before"}

``kernel_cpu_seconds`` is the kernel process's user + system CPU time (all threads);
``load_before`` the 1-minute load average when the run started, which says whether the machine was
idle. ``--save-dir`` writes each executed notebook, outputs included, to that folder (keep it
outside the repository: notebooks are committed without outputs). The notebooks append their own
full-mode scores to ``results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.results import append_record  # noqa: E402


def run(path: Path, timeout: int, save_dir: Path | None = None) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k not in ("PIX2PIX_FAST", "NBGRADER_EXECUTION")}
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    ok, error = True, None
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        ok, error = False, str(err).strip().splitlines()[-1][:300]
    wall = time.time() - t0
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save_dir / path.name)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"notebook": str(path), "ok": ok, "error": error, "wall_seconds": round(wall, 1),
            "kernel_cpu_seconds": round(cpu, 1), "load_before": round(load, 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    p.add_argument("--no-record", action="store_true", help="print the records only")
    p.add_argument("--save-dir", type=Path, default=None,
                   help="write the executed notebooks (with outputs) here")
    args = p.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        record = run(path, args.timeout, args.save_dir)
        print(json.dumps(record), flush=True)
        failed += not record["ok"]
        if not args.no_record:
            append_record("notebook_runtime", record, command="python " + shlex.join(sys.argv))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

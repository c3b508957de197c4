"""Time `make demo` as a new user runs it: a fresh clone, install and data included.

Usage::

    python benchmarks/demo_fresh_clone.py [--mirror ../shared/data] [--workdir /tmp/demo-clone]

Clones this checkout's HEAD into ``WORKDIR`` (removed first), runs ``make demo``
there with the data mirror (``MIRROR=...``), and appends one record to
``results/demo_fresh_clone.jsonl``: the total wall-clock seconds, whether it
fits the 15 minutes that ``make demo`` promises, and the demo's own
``metrics.json`` (scores on the 366 maps val tiles, steps, execution path).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from course_utils.paths import REPO_ROOT
from course_utils.results import append_record

LIMIT_SECONDS = 15 * 60


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mirror", default=str(REPO_ROOT.parent / "shared" / "data"),
                   help="a data mirror laid out like ../shared/data ('' for the original servers)")
    p.add_argument("--workdir", default="/tmp/pix2pix-demo-clone")
    a = p.parse_args(argv)
    work = Path(a.workdir)
    if work.exists():
        shutil.rmtree(work)
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(work)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PIX2PIX_DATA_ROOT")}
    args = ["make", "demo"] + ([f"MIRROR={a.mirror}"] if a.mirror else [])
    t0 = time.time()
    proc = subprocess.run(args, cwd=work, env=env)
    seconds = time.time() - t0
    if proc.returncode:
        print(
            f"demo_fresh_clone: `make demo` failed with exit code {proc.returncode}",
            file=sys.stderr,
        )
        return proc.returncode
    metrics = json.loads((work / "runs" / "demo" / "metrics.json").read_text())
    record = {"total_seconds": round(seconds, 1), "within_15_minutes": seconds <= LIMIT_SECONDS,
              "metrics": {k: v for k, v in metrics.items() if k != "run"}, "run": metrics["run"]}
    print(json.dumps(record))
    append_record("demo_fresh_clone", record, command="python benchmarks/demo_fresh_clone.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())

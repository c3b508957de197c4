"""Measured numbers as records: one JSON object per measurement, appended to ``results/NAME.jsonl``.

Every benchmark (and the demo) that measures a speed, a score or a time calls
:func:`append_record`. A record holds the date (UTC, ISO 8601), the commit
(``git describe``-style hash, ``+dirty`` when the tree had changes), the
command, the machine (CPU model, family/model, vector units, threads, torch
version; the GPU when one was used) and the numbers. Text that cites a number
cites its record file; the records keep the clock times and machine details
that lesson text leaves out.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from course_utils.paths import REPO_ROOT

RESULTS_ENV = "PIX2PIX_RESULTS_DIR"


def results_dir() -> Path:
    """``$PIX2PIX_RESULTS_DIR`` if set, else the repository's ``results/`` folder."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "results"


def commit() -> str | None:
    """The checkout's commit hash (``+dirty`` with uncommitted changes to tracked files), or
    ``None``."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine() -> dict:
    """What ran: CPU model, family/model and vector units (Linux), threads, torch; the GPU if CUDA
    is used."""
    info: dict = {"cpu_model": platform.processor() or platform.machine(),
                  "arch": platform.machine(), "threads": torch.get_num_threads(),
                  "torch": torch.__version__}
    try:
        fields: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        flags = set(fields.get("flags", "").split())
        info["cpu_model"] = fields.get("model name", info["cpu_model"])
        info["cpu_family_model"] = f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}"
        info["vector_units"] = [name for name, flag in (("AVX2", "avx2"), ("AVX-512", "avx512f"),
                                                        ("AVX512-BF16", "avx512_bf16"),
                                                        ("AMX", "amx_bf16"))
                                if flag in flags]
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def append_record(name: str, numbers: dict, command: str | None = None) -> Path:
    """Append one record to ``results_dir()/NAME.jsonl`` and return the file.

    ``numbers``: the measured values (JSON-serialisable; its own ``date``,
    ``commit``, ``command`` or ``machine`` keys are replaced by the record's);
    ``command``: how to measure them again (default: this process's command line).
    """
    provenance = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "command": (command if command is not None
                    else shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])),
        "machine": machine(),
    }
    record = {**provenance, **{k: v for k, v in numbers.items() if k not in provenance}}
    path = results_dir() / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
    return path

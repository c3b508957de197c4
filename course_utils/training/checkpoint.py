"""Atomic checkpoint files for training runs.

A checkpoint is a plain dict saved with :func:`torch.save`. It always holds
``step`` (int), ``config`` (the whole :class:`~course_utils.training.loop.TrainConfig`
as a dict) and ``netG``; training checkpoints also hold ``netD``, the
optimisers, the lr schedulers and the RNG states, so that a run killed with
SIGKILL at any moment resumes where its last checkpoint left it.

Everything in it is a tensor or a plain Python value, and it is read with
``torch.load(weights_only=True)``: unpickling it cannot call arbitrary Python
(PyTorch's restricted unpickler refuses every global outside an allow-list),
so a checkpoint from a classmate or a forum runs no code on ``pix2pix eval``.
Checkpoints written before the RNG state became tensors hold one NumPy array
(NumPy's random key); the three NumPy globals that rebuild a plain array are
allowed for them, nothing else.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from course_utils.errors import CheckpointError, CourseError
from course_utils.training.config import TrainConfig

REQUIRED_KEYS = ("step", "config", "netG")


def _numpy_array_globals() -> list:
    """The globals that rebuild a plain NumPy array (a pre-tensor RNG state): no code, just data."""
    core = getattr(np, "_core", None) or np.core  # NumPy 2 renamed numpy.core
    return [core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def safe_load(path: str | os.PathLike, map_location="cpu"):
    """``torch.load(path, weights_only=True)``, also for checkpoints holding a NumPy array.

    Raises:
        pickle.UnpicklingError: when the file holds any other Python object, i.e. when
            loading it would have to call code (the message names the refused global).
        Other errors of :func:`torch.load` for files that are not PyTorch files.
    """
    with torch.serialization.safe_globals(_numpy_array_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


def save_atomic(obj: dict, path: str | os.PathLike) -> Path:
    """Write ``obj`` to ``path`` so that a crash never leaves a partial file.

    The data go to a temporary file in the same folder, are flushed to disk,
    and the file is then renamed over ``path`` (``os.replace`` is atomic on
    POSIX and Windows). A reader sees either the old or the new checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load a course checkpoint and check that it is one.

    Raises:
        CheckpointError: if the file is missing, unreadable or truncated, holds
            Python objects that would run code (refused, nothing is run), or
            lacks the keys ``step``, ``config`` and ``netG``; the message names
            the file and says what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; train first (`pix2pix train ... --out RUN_DIR`) "
            f"and pass RUN_DIR/checkpoints/latest.pt"
        )
    try:
        ckpt = safe_load(path, map_location=map_location)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        refused = f"refused: {found.group(1)}" if found else ""
        raise CheckpointError(
            f"checkpoint {path} was refused: it holds Python objects that would run code when "
            f"loaded{f' ({refused})' if refused else ''}; course checkpoints hold only tensors and "
            f"plain values. Load only checkpoints written by `pix2pix train`; a generator shared "
            f"by others is safest as an exported folder (`pix2pix export`)"
        ) from None
    except Exception as exc:  # torch raises many types for corrupt files
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {exc}); "
            f"it may be truncated or not a PyTorch file"
        ) from None
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED_KEYS):
        raise CheckpointError(
            f"{path} is not a course checkpoint (it needs the keys {', '.join(REQUIRED_KEYS)}); "
            f"use a file written by `pix2pix train`"
        )
    return ckpt


def generator_from_checkpoint(ckpt: dict | str | os.PathLike,
                              device="cpu") -> tuple[nn.Module, TrainConfig]:
    """Rebuild ``netG`` on ``device``, in eval mode, from a checkpoint, a run folder or an exported
    folder.

    ``ckpt``: a checkpoint path or a loaded checkpoint dict; a run folder (its
    ``checkpoints/latest.pt``); or a folder written by ``pix2pix export`` or
    ``pix2pix import-weights`` (:mod:`course_utils.training.export`). A run
    trained with ``ema`` gives its moving average of the weights (``netG_ema``).
    The model (``pix2pix``, ``pix2pixhd``, ...) is read from the config.

    Raises:
        CheckpointError: if the file is not a course checkpoint or its weights
            do not fit the architecture its config names.
    """
    from course_utils.training.export import is_exported, load_exported
    from course_utils.training.recipes import get_recipe

    if not isinstance(ckpt, dict):
        if is_exported(ckpt):
            return load_exported(ckpt, device)
        if Path(ckpt).is_dir() and (Path(ckpt) / "checkpoints" / "latest.pt").is_file():
            ckpt = Path(ckpt) / "checkpoints" / "latest.pt"
        ckpt = load_checkpoint(ckpt)
    # checkpoints from before the seam have no "model": pix2pix
    cfg = TrainConfig.from_dict(ckpt["config"])
    try:
        netG = get_recipe(cfg).build_generator(cfg)
    except CourseError as exc:
        raise CheckpointError(f"checkpoint config cannot be built: {exc}") from None
    try:
        netG.load_state_dict(ckpt["netG_ema"] if ckpt.get("netG_ema") is not None else ckpt["netG"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint weights do not match its config "
            f"(model {cfg.model}, {cfg.netG}, ngf={cfg.ngf}): {exc}"
        ) from None
    return netG.to(device).eval(), cfg

"""What the loop draws into the run folder: sample grids and loss curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn


def save_sample_grid(netG: nn.Module, batch: dict, path, device, generate=None) -> Path:
    """Write a grid with one row per image: input | generated | target (values mapped
    from [-1, 1]).

    ``generate(netG, real_A)``, when given, makes ``fake_B`` (default ``netG(real_A)``).
    """
    from torchvision.utils import save_image

    was_training = netG.training
    netG.eval()
    with torch.no_grad():
        real_A = batch["real_A"].to(device)
        fake_B = (generate(netG, real_A) if generate else netG(real_A)).float().cpu()
    netG.train(was_training)
    shown_A = batch["real_A"]
    # super-resolution: the input shown at the output's size
    if shown_A.shape[-2:] != fake_B.shape[-2:]:
        shown_A = torch.nn.functional.interpolate(shown_A, size=fake_B.shape[-2:], mode="nearest")
    rows = torch.stack([shown_A, fake_B.clamp(-1, 1), batch["real_B"]], dim=1).flatten(0, 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(rows * 0.5 + 0.5, path, nrow=3, padding=2, pad_value=1.0)
    return path

def plot_losses(log_path, out_path, groups) -> Path | None:
    """Plot the loss curves of ``losses.jsonl`` (moving averages) to ``out_path``.

    ``groups``: one panel per ``(title, keys)`` entry (a recipe's ``plot_groups``, e.g.
    :data:`course_utils.training.recipes.pix2pix.PIX2PIX_PLOT`); keys that the log lacks (a
    term that was switched off) are left out.
    """
    # A bare Figure, not pyplot: it renders without a GUI and leaves the caller's backend alone
    # (``matplotlib.use("Agg")`` here switched a notebook's inline backend off for good).
    from matplotlib.figure import Figure

    rows = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    if not rows:
        return None
    steps = np.array([r["step"] for r in rows])
    window = max(1, len(rows) // 100)

    def smooth(key):
        """Moving average over ``window`` steps, aligned to the window's last step (no edge
        artefacts)."""
        v = np.array([r[key] for r in rows], dtype=float)
        c = np.cumsum(np.insert(v, 0, 0.0))
        return steps[window - 1 :], (c[window:] - c[:-window]) / window

    fig = Figure(figsize=(5.5 * len(groups), 3.8))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (title, keys) in zip(axes, groups):
        for key in (k for k in keys if k in rows[0]):
            kw = {"color": "C3"} if keys == ("G_L1",) else {}
            ax.plot(*smooth(key), label=key, **kw)
        ax.set_title(title)
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    return Path(out_path)

"""Training: the one loop, the run configuration, checkpoints, and one recipe per model.

- :mod:`~course_utils.training.config`: ``TrainConfig`` and ``config_from_preset``;
- :mod:`~course_utils.training.loop`: ``train``, the resumable loop (run folder, DDP, time budget);
- :mod:`~course_utils.training.recipes`: ``ModelRecipe`` and one module per model
  (``pix2pix``: ``train_step``, ``PRESETS``, ``LOSS_KEYS``; ``pix2pixhd``, ``srgan``, ``cyclegan``,
  ``spade``);
- :mod:`~course_utils.training.checkpoint`: atomic, weights-only checkpoints and
  ``generator_from_checkpoint``;
- :mod:`~course_utils.training.export`: ``pix2pix export`` and ``pix2pix import-weights``;
- :mod:`~course_utils.training.optim`, :mod:`~.schedule`, :mod:`~.state`, :mod:`~.plots`,
  :mod:`~.precision`, :mod:`~.execution`: Adam and the moving average, the lr schedule, the random
  state, the run's figures, mixed precision and the execution path.

The names a notebook needs are importable from here directly, e.g.
``from course_utils.training import train_step, config_from_preset, lr_lambda``; each is loaded
from its module on first use, so importing this package imports nothing else.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "config": ("TrainConfig", "PresetError", "config_from_preset"),
    "loop": ("train", "resolve_data", "eval_dataset"),
    "recipes": ("ModelRecipe", "get_recipe", "recipe_class", "MODELS"),
    "recipes.pix2pix": ("LOSS_KEYS", "MODEL_FIELDS", "PRESETS", "build_generator", "build_networks",
                        "train_step", "PIX2PIX_PLOT"),
    "checkpoint": ("generator_from_checkpoint", "load_checkpoint", "save_atomic"),
    "optim": ("make_optimizers", "make_ema"),
    "schedule": ("lr_lambda", "epoch_indices"),
    "state": ("rng_state", "set_rng_state", "seed_everything"),
    "plots": ("save_sample_grid", "plot_losses"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'course_utils.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"course_utils.training.{module}"), name)


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF))

"""``TrainConfig``: everything a training run needs, and the presets of every model.

A run's whole configuration is one dataclass, saved in ``config.json`` and in every checkpoint.
Each model's recipe (:mod:`course_utils.training.recipes`) owns its named presets;
:func:`config_from_preset` looks them up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from course_utils.errors import CourseError


@dataclass
class TrainConfig:
    """Everything a run needs; saved whole in every checkpoint.

    Image sizes are in pixels. ``load_size``: each half is resized to this
    square before cropping (``None``: no resize). ``crop_size``: the random
    training crop. ``eval_size``: the square size at which ``eval``,
    ``translate`` and the sample grids run the (fully convolutional) netG.

    The execution path (none of it changes the mathematics of a step):
    ``amp`` (``auto``/``off``/``bf16``/``fp16``, see
    :func:`course_utils.training.precision.choose_precision`), ``compile``
    (``auto``/``on``/``off``: ``torch.compile`` on both networks; ``auto`` is
    on for the CPU with bf16 autocast when a C++ compiler is present),
    ``channels_last`` memory format (``None``: as
    :func:`course_utils.training.execution.choose_execution` decides) and
    ``fused_adam`` (one fused kernel per Adam step). All four off
    (``pix2pix train --plain``) is the plain step: float32, NCHW, eager, the
    for-loop Adam of a straightforward PyTorch pix2pix.

    ``model`` names the recipe (:mod:`course_utils.training.recipes`): ``pix2pix``,
    ``pix2pixhd`` or ``cyclegan``. The Pix2PixHD fields (Wang et al. 2018; ignored by
    Pix2Pix): ``ngf`` is then G1's width and ``ngf_local`` G2's (64 and 32 in
    the paper), ``n_downsample_global``/``n_blocks_global``/``n_blocks_local``
    the depths (4, 9, 3), ``num_D`` the discriminator scales (3),
    ``lambda_FM``/``lambda_VGG`` the loss weights (10, 10; VGG only when its
    pretrained weights are cached), ``global_fraction`` the share of the run
    (steps or time) spent training G1 alone at half resolution and
    ``freeze_global_fraction`` the share after it that trains G2 with G1 frozen.
    The CycleGAN fields (Zhu et al. 2017; ignored by the others):
    ``lambda_cyc`` the cycle-consistency weight (10), ``lambda_idt`` the
    identity weight as a fraction of it (0.5) and ``pool_size`` the history of
    generated images the discriminators see (50).

    The SRGAN fields (Ledig et al. 2017; ``model="srgan"``): ``scale`` the
    upscaling factor (4), ``n_blocks`` the residual blocks ``B`` (16),
    ``lambda_adv`` the adversarial weight (1e-3; 0 trains SRResNet on the pixel
    MSE alone), ``content_loss`` ``"auto"`` (VGG19 ``phi_5,4`` when its pretrained
    weights are cached, else the pixel MSE, said at the start), ``"vgg"`` or
    ``"mse"``, and ``warmup_fraction`` the share of the run that trains on the
    content loss alone before the adversarial term starts (the paper starts SRGAN
    from a trained SRResNet). For SRGAN ``crop_size`` and ``eval_size`` are sides
    of high-resolution crops (the input is ``scale`` times smaller).

    The SPADE fields (Park et al. 2019; :mod:`course_utils.training.recipes.spade`):
    ``n_up`` upsamplings of the generator (5), ``spade_hidden`` the width of
    each SPADE layer's shared convolution (128), ``use_vae`` with ``z_dim``,
    ``nef``, ``n_layers_E`` the optional style encoder and ``lambda_KLD`` its
    KL weight (0.05); ``ngf``, ``ndf``, ``n_layers_D``, ``num_D``,
    ``lambda_FM``, ``lambda_VGG`` as for Pix2PixHD.

    ``ema``: the decay of an exponential moving average of netG's weights and
    BatchNorm statistics, updated after every step (0: off). The average, not
    the last weights, then draws the samples and is what ``eval``, ``translate``
    and :func:`generator_from_checkpoint` use (checkpoint key ``netG_ema``).
    Early in a run the decay is ``min(ema, (1 + n) / (10 + n))`` after ``n``
    updates, so the average does not start from the random initial weights.
    ``l1_warmup``: the fraction of the run (steps or time budget, whichever is
    further) that trains netG on the L1 term alone before the adversarial term
    and netD start (Pix2Pix only; 0: off).

    ``time_budget`` is in minutes of ``time_budget_clock``: ``"wall"`` (the
    default: wall-clock time) or ``"cpu"`` (the CPU time of the training
    process, all its threads: two busy threads use two CPU minutes per
    minute). The CPU clock gives two runs the same compute on a machine that
    other jobs share; it does not advance while the process is paused.
    """

    model: str = "pix2pix"
    dataset: str | None = "maps"
    data: str | None = None
    direction: str = "AtoB"
    netG: str = "unet_256"
    ngf: int = 64
    ndf: int = 64
    n_layers_D: int = 3
    norm: str = "batch"
    dropout: float = 0.5
    in_channels: int = 3
    out_channels: int = 3
    load_size: int | None = 286
    crop_size: int = 256
    eval_size: int = 256
    flip: bool = True
    interpolation: str = "bicubic"
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    lambda_L1: float = 100.0
    gan_weight: float = 1.0
    l1_warmup: float = 0.0
    ema: float = 0.0
    epochs: int = 200
    decay_fraction: float = 0.5
    max_steps: int | None = None
    time_budget: float | None = None
    time_budget_clock: str = "wall"
    save_every: int = 1000
    seed: int = 0
    amp: str = "auto"
    compile: str = "auto"
    channels_last: bool | None = None
    fused_adam: bool = True
    max_train_items: int | None = None
    n_samples: int = 4
    cache: bool = True
    preset: str | None = None
    # Pix2PixHD (course_utils.training.recipes.pix2pixhd)
    ngf_local: int = 32
    n_downsample_global: int = 4
    n_blocks_global: int = 9
    n_blocks_local: int = 3
    num_D: int = 3
    lambda_FM: float = 10.0
    lambda_VGG: float = 10.0
    global_fraction: float = 0.5
    freeze_global_fraction: float = 0.1
    # SRGAN (course_utils.training.recipes.srgan)
    scale: int = 4
    n_blocks: int = 16
    lambda_adv: float = 1e-3
    content_loss: str = "auto"
    warmup_fraction: float = 0.0
    # CycleGAN (course_utils.training.recipes.cyclegan)
    lambda_cyc: float = 10.0
    lambda_idt: float = 0.5
    pool_size: int = 50
    # SPADE / GauGAN (course_utils.training.recipes.spade)
    n_up: int = 5
    spade_hidden: int = 128
    use_vae: bool = False
    z_dim: int = 256
    nef: int = 64
    n_layers_E: int = 6
    lambda_KLD: float = 0.05

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

class PresetError(CourseError, ValueError):
    """An unknown preset or training option."""

def config_from_preset(preset: str = "paper", **overrides) -> TrainConfig:
    """A :class:`TrainConfig` from a preset name, with ``overrides`` applied (``None`` values
    ignored).

    The preset is looked up in the presets of ``overrides["model"]`` (default
    ``"pix2pix"``: :data:`PRESETS`; ``"pix2pixhd"``:
    :data:`course_utils.training.recipes.pix2pixhd.PRESETS`).

    Raises:
        PresetError (a ValueError and a CourseError): for an unknown model, preset or override
            name.
    """
    from course_utils.training.recipes import recipe_class

    model = overrides.get("model") or "pix2pix"
    try:
        presets = recipe_class(model).get_presets()
    except CourseError as exc:
        raise PresetError(str(exc)) from None
    if preset not in presets:
        raise PresetError(f"unknown preset {preset!r} for --model {model}; "
                          f"choose one of {', '.join(presets)}")
    cfg = TrainConfig(preset=preset, model=model, **presets[preset])
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    for key, value in overrides.items():
        if key not in names:
            raise PresetError(f"unknown training option {key!r}")
        if value is not None:
            setattr(cfg, key, value)
    return cfg

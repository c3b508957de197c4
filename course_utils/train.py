"""Training: the Pix2Pix step and presets, and the one resumable training loop of every model.

The loop (:func:`train`) is model-agnostic: a model supplies a
:class:`~course_utils.training.ModelRecipe` (networks, one training step,
sample generation, presets; see :mod:`course_utils.training`), chosen by
``TrainConfig.model`` (``pix2pix train --model pix2pix|pix2pixhd|cyclegan|spade``).

Source: Isola et al., CVPR 2017, section 3.3 (optimisation) and appendix 6.2
(training details). One step alternates one gradient step on ``netD`` and one
on ``netG`` (Adam, lr 2e-4, beta1 0.5); the paper trains maps for 200 epochs
at batch size 1 with random jitter (resize to 286, crop 256) and mirroring.

The loop writes everything to a run folder::

    RUN_DIR/config.json          the whole TrainConfig
    RUN_DIR/losses.jsonl         one line per step: step, epoch, lr and the model's losses
                                 (Pix2Pix: G_GAN, G_L1, D_real, D_fake)
    RUN_DIR/losses.png           the loss curves
    RUN_DIR/samples/epoch_NNN.png   input | generated | target on fixed val images
    RUN_DIR/checkpoints/latest.pt   atomic; every save_every steps and every epoch end

Run it on several processes with ``torchrun --nproc_per_node N -m
course_utils.cli train ...`` (DistributedDataParallel; gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm.auto import tqdm

from course_utils.checkpoint import load_checkpoint, save_atomic
from course_utils.device import pick_device
from course_utils.errors import CheckpointError, CourseError, DataError
from course_utils.execution import adam, choose_execution
from course_utils.losses import discriminator_loss, generator_loss
from course_utils.models import define_D, define_G
from course_utils.precision import backward_and_step

LOSS_KEYS = ("G_GAN", "G_L1", "D_real", "D_fake")

# Fields that define the networks and their input; a checkpoint can only be
# resumed (or evaluated) with the same values.
MODEL_FIELDS = ("netG", "ngf", "ndf", "n_layers_D", "norm", "dropout", "direction", "in_channels", "out_channels")


@dataclass
class TrainConfig:
    """Everything a run needs; saved whole in every checkpoint.

    Image sizes are in pixels. ``load_size``: each half is resized to this
    square before cropping (``None``: no resize). ``crop_size``: the random
    training crop. ``eval_size``: the square size at which ``eval``,
    ``translate`` and the sample grids run the (fully convolutional) netG.

    The execution path (none of it changes the mathematics of a step):
    ``amp`` (``auto``/``off``/``bf16``/``fp16``, see
    :func:`course_utils.precision.choose_precision`), ``compile``
    (``auto``/``on``/``off``: ``torch.compile`` on both networks; ``auto`` is
    on for the CPU with bf16 autocast when a C++ compiler is present),
    ``channels_last`` memory format (``None``: as
    :func:`course_utils.execution.choose_execution` decides) and
    ``fused_adam`` (one fused kernel per Adam step). All four off
    (``pix2pix train --plain``) is the plain step: float32, NCHW, eager, the
    for-loop Adam of a straightforward PyTorch pix2pix.

    ``model`` names the recipe (:mod:`course_utils.training`): ``pix2pix``,
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

    The SPADE fields (Park et al. 2019; :mod:`course_utils.training.spade`):
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
    # Pix2PixHD (course_utils.training.pix2pixhd)
    ngf_local: int = 32
    n_downsample_global: int = 4
    n_blocks_global: int = 9
    n_blocks_local: int = 3
    num_D: int = 3
    lambda_FM: float = 10.0
    lambda_VGG: float = 10.0
    global_fraction: float = 0.5
    freeze_global_fraction: float = 0.1
    # SRGAN (course_utils.training.srgan)
    scale: int = 4
    n_blocks: int = 16
    lambda_adv: float = 1e-3
    content_loss: str = "auto"
    warmup_fraction: float = 0.0
    # CycleGAN (course_utils.training.cyclegan)
    lambda_cyc: float = 10.0
    lambda_idt: float = 0.5
    pool_size: int = 50
    # SPADE / GauGAN (course_utils.training.spade)
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


PRESETS: dict[str, dict] = {
    # A few seconds: tests and CI.
    "smoke": dict(
        netG="unet_32", ngf=8, ndf=8, load_size=64, crop_size=32, eval_size=64, batch_size=2,
        max_steps=6, max_train_items=16, save_every=3, n_samples=2, epochs=1, compile="off",
    ),
    # `make demo`: 10.5 minutes of training on a 2-core CPU. Native-scale tiles (600 -> 256
    # as in the evaluation protocol) so roads keep their width, random 128 crops
    # (the fully convolutional netG then runs on whole 256 tiles), a narrower
    # U-Net, a PatchGAN of width 16 (netD was more than half of a step's FLOPs at
    # width 32), batch 4, a higher lr that decays to 0 over the second half,
    # lambda_L1 = 200, and samples and evaluation from an EMA of netG's weights.
    # The levers were measured side by side at equal minutes (results/quality_per_minute.jsonl).
    "cpu-quick": dict(
        netG="unet_128", ngf=32, ndf=16, load_size=256, crop_size=128, eval_size=256,
        interpolation="bilinear", batch_size=4, lr=5e-4, lambda_L1=200.0, epochs=12,
        decay_fraction=0.5, save_every=250, ema=0.995,
    ),
    # cpu-quick before the quality-per-minute levers (PatchGAN width 32, no EMA): the recipe that the
    # optional labs' measured Pix2Pix numbers and the benchmark's baseline curve use.
    "cpu-quick-v1": dict(
        netG="unet_128", ngf=32, ndf=32, load_size=256, crop_size=128, eval_size=256,
        interpolation="bilinear", batch_size=4, lr=5e-4, lambda_L1=200.0, epochs=12,
        decay_fraction=0.5, save_every=250,
    ),
    # A longer CPU run: the cpu-quick recipe for three times as many epochs (about 35 minutes).
    "cpu": dict(
        netG="unet_128", ngf=32, ndf=16, load_size=256, crop_size=128, eval_size=256,
        interpolation="bilinear", batch_size=4, lr=5e-4, lambda_L1=200.0, epochs=36,
        decay_fraction=0.5, save_every=500, ema=0.995,
    ),
    # The paper's setup (appendix 6.2): unet_256, 70x70 D, batch 1, lambda 100,
    # Adam 2e-4 / 0.5, 100 epochs at constant lr then 100 of linear decay,
    # jitter 286 -> 256 and flip. Mixed precision on CUDA.
    "paper": dict(),
}


class PresetError(CourseError, ValueError):
    """An unknown preset or training option."""


def config_from_preset(preset: str = "paper", **overrides) -> TrainConfig:
    """A :class:`TrainConfig` from a preset name, with ``overrides`` applied (``None`` values ignored).

    The preset is looked up in the presets of ``overrides["model"]`` (default
    ``"pix2pix"``: :data:`PRESETS`; ``"pix2pixhd"``:
    :data:`course_utils.training.pix2pixhd.PRESETS`).

    Raises:
        PresetError (a ValueError and a CourseError): for an unknown model, preset or override name.
    """
    from course_utils.training import recipe_class

    model = overrides.get("model") or "pix2pix"
    try:
        presets = recipe_class(model).get_presets()
    except CourseError as exc:
        raise PresetError(str(exc)) from None
    if preset not in presets:
        raise PresetError(f"unknown preset {preset!r} for --model {model}; choose one of {', '.join(presets)}")
    cfg = TrainConfig(preset=preset, model=model, **presets[preset])
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    for key, value in overrides.items():
        if key not in names:
            raise PresetError(f"unknown training option {key!r}")
        if value is not None:
            setattr(cfg, key, value)
    return cfg


# --------------------------------------------------------------------------- networks


def build_generator(cfg: TrainConfig) -> nn.Module:
    """Pix2Pix's ``netG`` for ``cfg``, initialised N(0, 0.02).

    ``cfg.netG``: ``unet_N`` (the paper's U-Net) or ``resnet_Kblocks`` (Johnson et al.'s ResNet
    generator with instance norm, the other option of the authors' code).
    """
    if cfg.netG.startswith("resnet_"):
        from course_utils.models.cyclegan import define_G_cycle

        return define_G_cycle(cfg.netG, cfg.in_channels, cfg.out_channels, cfg.ngf)
    return define_G(cfg.netG, cfg.in_channels, cfg.out_channels, cfg.ngf, cfg.norm, cfg.dropout)


def build_networks(cfg: TrainConfig) -> tuple[nn.Module, nn.Module]:
    """``netG`` and ``netD`` for ``cfg``, initialised N(0, 0.02)."""
    netG = build_generator(cfg)
    netD = define_D(cfg.in_channels + cfg.out_channels, cfg.ndf, cfg.n_layers_D, cfg.norm)
    return netG, netD


def generator_from_checkpoint(ckpt: dict | str | os.PathLike, device="cpu") -> tuple[nn.Module, TrainConfig]:
    """Rebuild ``netG`` on ``device``, in eval mode, from a checkpoint, a run folder or an exported folder.

    ``ckpt``: a checkpoint path or a loaded checkpoint dict; a run folder (its
    ``checkpoints/latest.pt``); or a folder written by ``pix2pix export`` or
    ``pix2pix import-weights`` (:mod:`course_utils.training.export`). A run
    trained with ``ema`` gives its moving average of the weights (``netG_ema``).
    The model (``pix2pix``, ``pix2pixhd``, ...) is read from the config.

    Raises:
        CheckpointError: if the file is not a course checkpoint or its weights
            do not fit the architecture its config names.
    """
    from course_utils.training import get_recipe
    from course_utils.training.export import is_exported, load_exported

    if not isinstance(ckpt, dict):
        if is_exported(ckpt):
            return load_exported(ckpt, device)
        if Path(ckpt).is_dir() and (Path(ckpt) / "checkpoints" / "latest.pt").is_file():
            ckpt = Path(ckpt) / "checkpoints" / "latest.pt"
        ckpt = load_checkpoint(ckpt)
    cfg = TrainConfig.from_dict(ckpt["config"])  # checkpoints from before the seam have no "model": pix2pix
    try:
        netG = get_recipe(cfg).build_generator(cfg)
    except CourseError as exc:
        raise CheckpointError(f"checkpoint config cannot be built: {exc}") from None
    try:
        netG.load_state_dict(ckpt["netG_ema"] if ckpt.get("netG_ema") is not None else ckpt["netG"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint weights do not match its config (model {cfg.model}, {cfg.netG}, ngf={cfg.ngf}): {exc}"
        ) from None
    return netG.to(device).eval(), cfg


def make_optimizers(netG: nn.Module, netD: nn.Module, lr: float = 2e-4, beta1: float = 0.5, fused: bool = False):
    """Adam optimisers for ``netG`` and ``netD`` (paper section 3.3: lr 2e-4, betas (0.5, 0.999)).

    ``fused=True`` uses Adam's fused kernel (same update, one pass over the
    parameters; CPU and CUDA; :func:`course_utils.execution.adam`). The
    default is PyTorch's plain Adam.
    """
    optG = adam(netG.parameters(), lr=lr, betas=(beta1, 0.999), fused=fused)
    optD = adam(netD.parameters(), lr=lr, betas=(beta1, 0.999), fused=fused)
    return optG, optD


def make_ema(netG: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``netG`` (weights and BatchNorm statistics), or ``None`` for ``decay <= 0``.

    ``ema.update_parameters(netG)`` after each step sets every floating-point
    tensor ``avg <- avg + (1 - d) * (current - avg)`` with
    ``d = min(decay, (1 + n) / (10 + n))`` after ``n`` updates (the first update
    copies); integer buffers (BatchNorm's batch counter) are copied. ``ema.module``
    is the averaged generator. Built on :class:`torch.optim.swa_utils.AveragedModel`.

    Raises:
        ValueError: for ``decay >= 1``.
    """
    if decay <= 0:
        return None
    if decay >= 1:
        raise ValueError(f"ema must be in [0, 1) (0: off; e.g. 0.999), got {decay!r}")

    def ema_update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        if not averaged[0].is_floating_point():
            torch._foreach_copy_(averaged, current)
            return
        d = min(decay, (1.0 + float(n)) / (10.0 + float(n)))
        torch._foreach_lerp_(averaged, current, 1.0 - d)

    return torch.optim.swa_utils.AveragedModel(netG, multi_avg_fn=ema_update, use_buffers=True)


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    """Turn gradient tracking of all of ``net``'s parameters on or off."""
    for p in net.parameters():
        p.requires_grad_(flag)


def _unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, DDP) else net


def train_step(
    netG: nn.Module,
    netD: nn.Module,
    optG: torch.optim.Optimizer,
    optD: torch.optim.Optimizer,
    real_A: torch.Tensor,
    real_B: torch.Tensor,
    *,
    lambda_L1: float = 100.0,
    gan_weight: float = 1.0,
    autocast=None,
    scalers=None,
) -> dict:
    """One Pix2Pix optimisation step: update ``netD`` once, then ``netG`` once.

    1. ``fake_B = netG(real_A)``.
    2. ``netD`` step on :func:`~course_utils.losses.discriminator_loss`, which
       detaches ``fake_B`` (so no gradient reaches ``netG``).
    3. ``netG`` step on ``gan_weight * G_GAN + lambda_L1 * G_L1`` (paper
       equation 4) with ``netD``'s parameters frozen; ``fake_B`` is not
       detached, so the adversarial gradient flows through ``netD`` into ``netG``.

    ``gan_weight=0`` skips ``netD`` entirely (L1 alone); ``lambda_L1=0`` is
    the cGAN alone. ``real_A``/``real_B`` are ``(N, 3, H, W)`` in ``[-1, 1]``.
    ``autocast`` is an optional context-manager factory (mixed precision) and
    ``scalers`` an optional ``(scaler_G, scaler_D)`` pair of GradScalers.

    Returns:
        ``{"G_GAN", "G_L1", "D_real", "D_fake"}`` as floats (GAN terms are 0
        when ``gan_weight == 0``).
    """
    ctx = autocast or contextlib.nullcontext
    scaler_G, scaler_D = scalers or (None, None)

    with ctx():
        fake_B = netG(real_A)
    out = dict.fromkeys(LOSS_KEYS, 0.0)
    if gan_weight > 0:
        set_requires_grad(netD, True)
        optD.zero_grad(set_to_none=True)
        with ctx():
            d = discriminator_loss(netD, real_A, real_B, fake_B)
        backward_and_step(optD, d.total, scaler_D)
        out["D_real"], out["D_fake"] = d.real.item(), d.fake.item()
        set_requires_grad(netD, False)

    optG.zero_grad(set_to_none=True)
    with ctx():
        if gan_weight > 0:
            g = generator_loss(_unwrap(netD), real_A, real_B, fake_B, lambda_L1)
            total, gan = gan_weight * g.gan + lambda_L1 * g.l1, g.gan
            l1 = g.l1
        else:
            l1 = torch.nn.functional.l1_loss(fake_B.float(), real_B)
            total, gan = lambda_L1 * l1, None
    backward_and_step(optG, total, scaler_G)
    if gan_weight > 0:
        set_requires_grad(netD, True)
        out["G_GAN"] = gan.item()
    out["G_L1"] = l1.item()
    return out


# --------------------------------------------------------------------------- helpers


def lr_lambda(total_steps: int, decay_fraction: float, time_progress=None):
    """Per-step lr factor: 1 for the first ``1 - decay_fraction`` of the run, then linear to 0.

    The paper's maps schedule is 100 epochs constant + 100 decaying
    (``decay_fraction=0.5``). ``time_progress``, an optional callable returning
    the fraction of a time budget used so far, makes the schedule follow
    whichever is further along, steps or time, so that a run cut short by
    ``--time-budget`` still ends with a fully decayed lr.
    """

    def f(step: int) -> float:
        progress = step / max(1, total_steps)
        if time_progress is not None:
            progress = max(progress, time_progress())
        if progress < 1.0 - decay_fraction:
            return 1.0
        return max(0.0, (1.0 - progress) / max(decay_fraction, 1e-12))

    return f


def rng_state() -> dict:
    """The Python, NumPy, torch (and CUDA) random states, as tensors and plain types only.

    NumPy's MT19937 key goes in as an int64 tensor, so a checkpoint holding the state
    loads with ``torch.load(weights_only=True)``.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` saved (also the NumPy arrays of checkpoints written before it)."""
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else keys
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def epoch_indices(n: int, epoch: int, seed: int, rank: int = 0, world: int = 1) -> list[int]:
    """This rank's shuffled sample order for ``epoch``; a pure function of its arguments."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=g)[rank::world].tolist()


# Unpaired models (ModelRecipe.unpaired) shuffle real_B with seed + this offset.
UNPAIRED_SEED_OFFSET = 7919


def _dist_info() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


# --------------------------------------------------------------------------- data


def resolve_data(cfg: TrainConfig) -> tuple[Path, Path | None]:
    """The train folder and the val folder (or ``None``) for ``cfg``.

    Raises:
        DataError: if neither ``dataset`` nor ``data`` is set, or the folders are missing.
    """
    from course_utils.datasets import dataset_folder

    if cfg.data:
        root = Path(cfg.data)
        train_dir = root / "train"
        if not train_dir.is_dir():
            raise DataError(f"--data {root}: no train/ folder inside; it must hold train/ (and optionally val/) with A|B images")
        val_dir = root / "val"
        return train_dir, (val_dir if val_dir.is_dir() else None)
    if not cfg.dataset:
        raise DataError("give --dataset maps|facades or --data DIR")
    train_dir = dataset_folder(cfg.dataset, "train")
    try:
        val_dir = dataset_folder(cfg.dataset, "val")
    except DataError:
        val_dir = None
    return train_dir, val_dir


def eval_dataset(folder, cfg: TrainConfig, max_items=None, cache=True, progress=True):
    """The deterministic dataset used for samples and evaluation (the model's recipe chooses it).

    Pix2Pix and Pix2PixHD: whole ``eval_size`` tiles, bilinear resize. SRGAN:
    ``eval_size`` centre crops of the high-resolution images and their bicubic
    downscale. ``cache=True`` (default) decodes each file once: the pre-scan that
    checks the files also fills the cache that evaluation reads.
    """
    from course_utils.training import get_recipe

    return get_recipe(cfg).eval_dataset(folder, max_items=max_items, cache=cache, progress=progress)


# --------------------------------------------------------------------------- plots


def save_sample_grid(netG: nn.Module, batch: dict, path, device, generate=None) -> Path:
    """Write a grid with one row per image: input | generated | target (values mapped from [-1, 1]).

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
    if shown_A.shape[-2:] != fake_B.shape[-2:]:  # super-resolution: the input shown at the output's size
        shown_A = torch.nn.functional.interpolate(shown_A, size=fake_B.shape[-2:], mode="nearest")
    rows = torch.stack([shown_A, fake_B.clamp(-1, 1), batch["real_B"]], dim=1).flatten(0, 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(rows * 0.5 + 0.5, path, nrow=3, padding=2, pad_value=1.0)
    return path


PIX2PIX_PLOT = (("adversarial losses (BCE)", ("G_GAN", "D_real", "D_fake")),
                 ("G_L1 (mean |fake_B - real_B|, [-1, 1] units)", ("G_L1",)))


def plot_losses(log_path, out_path, groups=PIX2PIX_PLOT) -> Path | None:
    """Plot the loss curves of ``losses.jsonl`` (moving averages) to ``out_path``.

    ``groups``: one panel per ``(title, keys)`` entry (default: Pix2Pix's two panels).
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
        """Moving average over ``window`` steps, aligned to the window's last step (no edge artefacts)."""
        v = np.array([r[key] for r in rows], dtype=float)
        c = np.cumsum(np.insert(v, 0, 0.0))
        return steps[window - 1 :], (c[window:] - c[:-window]) / window

    fig = Figure(figsize=(5.5 * len(groups), 3.8))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (title, keys) in zip(axes, groups):
        for key in keys:
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


# --------------------------------------------------------------------------- loop


def _progress_bar(cfg: TrainConfig, total_steps: int, step: int, elapsed: float, enabled: bool) -> tqdm:
    """The training bar: steps out of ``total_steps``, or, under a time budget, seconds of the budget.

    A time-boxed run ends when its minutes are spent, long before its nominal
    step count, so its bar counts the budget (``n/total`` seconds and the time
    left) and shows the steps done so far after it.
    """
    if not cfg.time_budget:
        return tqdm(total=total_steps, initial=step, desc="train", disable=not enabled, dynamic_ncols=True)
    budget = round(cfg.time_budget * 60)
    clock = "CPU " if cfg.time_budget_clock == "cpu" else ""
    return tqdm(total=budget, initial=min(budget, round(elapsed)), desc="train", disable=not enabled,
                dynamic_ncols=True, unit="s",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} s of the "
                           + clock + "time budget, {remaining} left{postfix}")


def train(
    cfg: TrainConfig,
    out_dir,
    *,
    resume: bool = False,
    device=None,
    progress: bool = True,
) -> dict:
    """Train the model ``cfg.model`` (Pix2Pix by default) as ``cfg`` says, writing the run folder ``out_dir``.

    This is the one training loop of the course; the model's networks, step
    and sample generation come from its recipe (:mod:`course_utils.training`).

    Stops after ``cfg.max_steps`` steps if set, else after ``cfg.epochs``
    epochs, and early when ``cfg.time_budget`` minutes (summed over resumed
    sessions) have passed. Under ``torchrun`` it trains with
    DistributedDataParallel, each process on its own shard of every epoch.

    Args:
        resume: continue from ``out_dir/checkpoints/latest.pt`` (a fresh start
            if there is none). The networks in ``cfg`` must match the checkpoint's.
        device: a torch device; default CUDA when present (the local rank's GPU
            under torchrun), else the CPU.

    Returns:
        ``{"step", "epoch", "seconds", "images_per_second", "checkpoint"}``.

    Raises:
        DataError: for missing or bad data (every bad file listed).
        CheckpointError: if ``out_dir`` already holds a checkpoint and
            ``resume`` is false, or the checkpoint does not match ``cfg``.
    """
    from course_utils.training import get_recipe

    recipe = get_recipe(cfg)
    rank, world = _dist_info()
    distributed = world > 1
    if device is None:
        if torch.cuda.is_available():
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) if distributed else 0)
        else:
            device = pick_device()  # Apple's MPS when present, else the CPU
    device = torch.device(device)
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    is_main = rank == 0
    exe = choose_execution(device, amp=cfg.amp, compile=cfg.compile, channels_last=cfg.channels_last,
                           fused_adam=cfg.fused_adam, distributed=distributed)
    if is_main:
        print(f"pix2pix train: {exe.describe()}" + ("" if cfg.model == "pix2pix" else f" (model {cfg.model})"),
              flush=True)

    out_dir = Path(out_dir)
    ckpt_path = out_dir / "checkpoints" / "latest.pt"
    log_path = out_dir / "losses.jsonl"
    ckpt = None
    if ckpt_path.exists():
        if not resume:
            raise CheckpointError(
                f"{out_dir} already holds a run ({ckpt_path}); pass --resume to continue it "
                f"or choose another --out"
            )
        ckpt = load_checkpoint(ckpt_path)
        old = TrainConfig.from_dict(ckpt["config"])
        diff = [f"{k}: checkpoint {getattr(old, k)!r} vs now {getattr(cfg, k)!r}"
                for k in ("model", *recipe.model_fields) if getattr(old, k) != getattr(cfg, k)]
        if diff:
            raise CheckpointError(f"cannot resume {ckpt_path} with different networks/data: " + "; ".join(diff))

    # --- data (scanned before anything trains)
    train_dir, val_dir = resolve_data(cfg)
    train_set = recipe.train_dataset(train_dir, progress=progress and is_main)
    sample_set = eval_dataset(val_dir or train_dir, cfg, max_items=cfg.n_samples, progress=False)
    sample_batch = torch.utils.data.default_collate([sample_set[i] for i in range(len(sample_set))])

    n_per_rank = len(train_set) // world
    steps_per_epoch = n_per_rank // cfg.batch_size
    if steps_per_epoch == 0:
        raise DataError(
            f"{train_dir}: {len(train_set)} images are fewer than batch size {cfg.batch_size} x {world} "
            f"process(es); lower --batch-size"
        )
    # --max-steps, when given, replaces --epochs as the length of the run (and of the lr schedule).
    total_steps = cfg.max_steps if cfg.max_steps else cfg.epochs * steps_per_epoch

    # --- networks and optimisers
    seed_everything(cfg.seed)
    netG, netD = recipe.build_networks(cfg)
    recipe.setup(device, is_main)
    memory_format = exe.memory_format
    netG_t, netD_t = exe.prepare(netG, netD)  # compiled wrappers when exe.compile; they share the weights
    optG, optD = recipe.make_optimizers(netG, netD, fused=exe.fused_adam)
    ema = make_ema(netG, cfg.ema)
    if cfg.time_budget_clock not in ("wall", "cpu"):
        raise CourseError(f"time_budget_clock must be 'wall' or 'cpu', got {cfg.time_budget_clock!r}")
    now = time.process_time if cfg.time_budget_clock == "cpu" else time.time
    clock = {"elapsed": 0.0}  # seconds of training so far (on cfg.time_budget_clock), all sessions; every step
    time_progress = (lambda: clock["elapsed"] / (cfg.time_budget * 60)) if cfg.time_budget else None
    schedule = lr_lambda(total_steps, cfg.decay_fraction, time_progress)
    schedG = torch.optim.lr_scheduler.LambdaLR(optG, schedule)
    schedD = torch.optim.lr_scheduler.LambdaLR(optD, schedule)
    autocast, scalers = exe.precision.autocast, exe.precision.grad_scalers()

    step, elapsed_before = 0, 0.0
    if ckpt is not None:
        netG.load_state_dict(ckpt["netG"])
        netD.load_state_dict(ckpt["netD"])
        optG.load_state_dict(ckpt["optG"])
        optD.load_state_dict(ckpt["optD"])
        schedG.load_state_dict(ckpt["schedG"])
        schedD.load_state_dict(ckpt["schedD"])
        if scalers and ckpt.get("scalers"):
            for s, sd in zip(scalers, ckpt["scalers"]):
                s.load_state_dict(sd)
        if ema is not None and ckpt.get("netG_ema") is not None:
            ema.module.load_state_dict(ckpt["netG_ema"])
            ema.n_averaged.fill_(int(ckpt.get("ema_n") or ckpt["step"]))
        step = int(ckpt["step"])
        elapsed_before = clock["elapsed"] = float(ckpt.get("elapsed", 0.0))
        rngs = ckpt["rng"]
        set_rng_state(rngs[rank] if isinstance(rngs, list) and rank < len(rngs) else rngs)
        if is_main and log_path.exists():  # drop log lines past the checkpoint (they are redone)
            keep = [ln for ln in log_path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
            log_path.write_text("".join(ln + "\n" for ln in keep))
    elif is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")
    if is_main:
        (out_dir / "config.json").write_text(json.dumps({**cfg.to_dict(), "execution": exe.to_dict()}, indent=2) + "\n")

    if distributed:  # choose_execution never compiles under DDP, so netG_t is netG here
        ddp_kw = {"device_ids": [device.index]} if device.type == "cuda" else {}
        if recipe.ddp_find_unused_parameters:
            ddp_kw["find_unused_parameters"] = True
        netG_t, netD_t = DDP(netG, **ddp_kw), DDP(netD, **ddp_kw)
    netG_t.train()
    netD_t.train()

    def save():
        # Every rank's RNG state goes into the checkpoint, so each can resume its own stream.
        states = [rng_state()]
        if distributed:
            gathered = [None] * world
            dist.all_gather_object(gathered, states[0])
            states = gathered
        if not is_main:
            return
        save_atomic(
            {
                "step": step, "epoch": step // steps_per_epoch, "config": cfg.to_dict(),
                "netG": netG.state_dict(), "netD": netD.state_dict(),
                "netG_ema": ema.module.state_dict() if ema is not None else None,
                "ema_n": int(ema.n_averaged) if ema is not None else 0,
                "optG": optG.state_dict(), "optD": optD.state_dict(),
                "schedG": schedG.state_dict(), "schedD": schedD.state_dict(),
                "scalers": [s.state_dict() for s in scalers] if scalers else None,
                "rng": states, "elapsed": elapsed_before + (now() - t0_clock),
                "world_size": world,
            },
            ckpt_path,
        )
        plot_losses(log_path, out_dir / "losses.png", recipe.plot_groups)  # the curves so far, at every save

    def run_progress() -> float:
        """How far along the run is, in [0, 1]: steps or time budget, whichever is further (as the lr)."""
        return min(1.0, max(step / max(1, total_steps), time_progress() if time_progress else 0.0))

    def sample_fn():
        progress_now = run_progress()
        return lambda net, real_A: recipe.generate(net, real_A, progress_now)

    shown_G = ema.module if ema is not None else netG  # what the samples show (and eval loads)
    t0, t0_clock = time.time(), now()
    start_step = step
    bar = _progress_bar(cfg, total_steps, step, clock["elapsed"], enabled=progress and is_main)
    log = open(log_path, "a", buffering=1) if is_main else None  # line-buffered: a kill loses no line  # noqa: SIM115
    stopped_by_time = False
    first_step_seconds = None  # includes torch.compile's compilation when exe.compile
    try:
        while step < total_steps:
            epoch, pos = divmod(step, steps_per_epoch)
            order = epoch_indices(len(train_set), epoch, cfg.seed, rank, world)[: steps_per_epoch * cfg.batch_size]
            if recipe.unpaired:  # real_B from its own order, independent of real_A's (no pair is used)
                order_B = epoch_indices(len(train_set), epoch, cfg.seed + UNPAIRED_SEED_OFFSET, rank, world)
            for b in range(pos, steps_per_epoch):
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                batch = torch.utils.data.default_collate([train_set[i] for i in idx])
                if recipe.unpaired:
                    idx_B = order_B[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                    batch["real_B"] = torch.stack([train_set[i]["real_B"] for i in idx_B])
                real_A = batch["real_A"].to(device, memory_format=memory_format, non_blocking=True)
                real_B = batch["real_B"].to(device, memory_format=memory_format, non_blocking=True)
                t_step = time.time()
                try:
                    losses = recipe.train_step(
                        netG_t, netD_t, optG, optD, real_A, real_B, progress=run_progress(),
                        autocast=autocast, scalers=scalers,
                    )
                except Exception as exc:
                    if exe.compile and step == start_step:  # compilation happens in the first step
                        raise CourseError(
                            f"torch.compile failed in the first training step ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); rerun with --no-compile"
                        ) from exc
                    raise
                if ema is not None:
                    ema.update_parameters(netG)
                if step == start_step:
                    first_step_seconds = time.time() - t_step
                lr = optG.param_groups[0]["lr"]
                clock["elapsed"] = elapsed_before + now() - t0_clock
                schedG.step()
                if recipe.uses_netD():  # e.g. Pix2Pix's L1 alone never steps optD
                    with warnings.catch_warnings():  # an L1 warm-up steps the schedule before optD
                        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step", UserWarning)
                        schedD.step()
                step += 1
                if log is not None:
                    log.write(json.dumps({"step": step, "epoch": epoch, "lr": lr, **{k: round(v, 5) for k, v in losses.items()}}) + "\n")
                if cfg.time_budget:  # the bar counts budget seconds; the postfix counts steps
                    bar.update(min(bar.total, clock["elapsed"]) - bar.n)
                    bar.set_postfix({"step": step, **{k: f"{v:.3f}" for k, v in losses.items()}}, refresh=False)
                else:
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                over_time = cfg.time_budget is not None and clock["elapsed"] >= cfg.time_budget * 60
                if distributed and cfg.time_budget is not None:
                    flag = torch.tensor([float(over_time)])
                    dist.all_reduce(flag)
                    over_time = bool(flag.item())
                if step % cfg.save_every == 0 or step >= total_steps or over_time:
                    save()
                if over_time:
                    stopped_by_time = True
                    break
                if step >= total_steps:
                    break
            if stopped_by_time:
                break
            if step % steps_per_epoch == 0:
                if step % cfg.save_every:
                    save()
                if is_main:
                    save_sample_grid(shown_G, sample_batch,
                                     out_dir / "samples" / f"epoch_{step // steps_per_epoch:03d}.png",
                                     device, generate=sample_fn())
    finally:
        bar.close()
        if log is not None:
            log.close()
    seconds = time.time() - t0
    if is_main:
        save_sample_grid(shown_G, sample_batch, out_dir / "samples" / "final.png", device, generate=sample_fn())
        plot_losses(log_path, out_dir / "losses.png", recipe.plot_groups)
    if distributed:
        dist.barrier()
    images = (step - start_step) * cfg.batch_size * world
    return {
        "step": step, "epoch": step / steps_per_epoch, "seconds": seconds,
        "images_per_second": images / seconds if seconds > 0 else math.nan,
        "checkpoint": str(ckpt_path), "stopped_by_time_budget": stopped_by_time,
        "budget_seconds": round(clock["elapsed"] - elapsed_before, 2),
        "first_step_seconds": None if first_step_seconds is None else round(first_step_seconds, 2),
        "execution": exe.describe(),
    }

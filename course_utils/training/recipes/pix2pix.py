"""Pix2Pix (Isola et al., CVPR 2017): its networks, its training step, its presets and its recipe.

Source: section 3.3 (optimisation) and appendix 6.2 (training details). One step alternates one
gradient step on ``netD`` and one on ``netG`` (Adam, lr 2e-4, beta1 0.5); the paper trains maps
for 200 epochs at batch size 1 with random jitter (resize to 286, crop 256) and mirroring.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from course_utils.losses.objectives import discriminator_loss, generator_loss
from course_utils.models import define_D, define_G
from course_utils.models.init import set_requires_grad, unwrap
from course_utils.training.config import TrainConfig
from course_utils.training.precision import backward_and_step
from course_utils.training.recipes import ModelRecipe, Option

LOSS_KEYS = ("G_GAN", "G_L1", "D_real", "D_fake")

# Fields that define the networks and their input; a checkpoint can only be
# resumed (or evaluated) with the same values.
MODEL_FIELDS = ("netG", "ngf", "ndf", "n_layers_D", "norm", "dropout", "direction", "in_channels",
                "out_channels")

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
    # cpu-quick before the quality-per-minute levers (PatchGAN width 32, no EMA): the recipe that
    # the optional labs' measured Pix2Pix numbers and the benchmark's baseline curve use.
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
            g = generator_loss(unwrap(netD, compiled=False), real_A, real_B, fake_B, lambda_L1)
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

PIX2PIX_PLOT = (("adversarial losses (BCE)", ("G_GAN", "D_real", "D_fake")),
                 ("G_L1 (mean |fake_B - real_B|, [-1, 1] units)", ("G_L1",)))


class Pix2PixRecipe(ModelRecipe):
    """U-Net ``netG`` + PatchGAN ``netD``, cGAN (BCE) + ``lambda_L1`` * L1."""

    name = "pix2pix"
    options = (
        Option("lambda_L1", "--lambda-l1", "weight of the L1 term (paper: 100)"),
        Option("gan_weight", "--gan-weight", "weight of the cGAN term; 0 = L1 alone"),
        Option("l1_warmup", "--l1-warmup", "train netG on the L1 term alone for this fraction of "
               "the run first (0 = off)", metavar="FRACTION"),
    )
    loss_keys = LOSS_KEYS
    model_fields = MODEL_FIELDS
    presets = PRESETS
    plot_groups = PIX2PIX_PLOT

    def build_networks(self, cfg):
        return build_networks(cfg)

    def build_generator(self, cfg):
        return build_generator(cfg)

    def uses_netD(self) -> bool:
        return self.cfg.gan_weight > 0  # L1 alone never steps optD

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress, autocast, scalers):
        # cfg.l1_warmup: the first part of the run trains netG on the L1 term alone (netD waits)
        gan_weight = 0.0 if progress < self.cfg.l1_warmup else self.cfg.gan_weight
        return train_step(
            netG, netD, optG, optD, real_A, real_B, lambda_L1=self.cfg.lambda_L1,
            gan_weight=gan_weight, autocast=autocast, scalers=scalers,
        )

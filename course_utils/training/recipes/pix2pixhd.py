"""Pix2PixHD on the training seam (Wang et al., CVPR 2018).

The networks and losses are in :mod:`course_utils.models.pix2pixhd`; this
module gives the loop the coarse-to-fine schedule (section 3.2), the training
step and the presets.

**Coarse-to-fine schedule.** With ``p`` the run's progress in ``[0, 1]``
(steps, or the time budget when that is further along, exactly as the lr
schedule):

1. ``p < global_fraction``: ``G1`` alone, with its own output layer, on the
   images downsampled by 2 (:func:`~course_utils.models.pix2pixhd.downsample`);
   the discriminators see the half-resolution pair too;
2. ``p < global_fraction + freeze_global_fraction``: the full generator at
   full resolution with ``G1`` frozen (its features are detached and its
   weights get no gradient), so that ``G2`` learns to use what ``G1`` knows;
3. then both together (the paper's joint fine-tuning).

**The step** (paper equation 5, with LSGAN for equation 2): ``netD`` on
``0.5 * (LSGAN(real) + LSGAN(fake))`` summed over the scales; ``netG`` on
``LSGAN(fake as real) + lambda_FM * FM + lambda_VGG * VGG``, plus ``lambda_L1 * L1`` when
``lambda_L1 > 0`` (not in the paper, which has no L1 term: 0 by default; notebook 5 sets it to
compare the architectures with Pix2Pix under the same reconstruction term). The VGG term is
used only when torchvision's pretrained VGG19 weights are already in the torch
cache; otherwise the run says so once and trains without it.
"""

from __future__ import annotations

import contextlib

import torch.nn.functional as F

from course_utils.errors import CourseError
from course_utils.losses.gan import lsgan_loss
from course_utils.losses.perceptual import VGGLoss
from course_utils.models.init import set_requires_grad, unwrap
from course_utils.models.pix2pixhd import (
    define_D_hd,
    define_G_hd,
    downsample,
    vgg19_weights_available,
    vgg19_weights_path,
)
from course_utils.training.precision import backward_and_step
from course_utils.training.recipes import (
    ModelRecipe,
    Option,
    discriminator_step,
    generator_gan_terms,
)

LOSS_KEYS = ("G_GAN", "G_FM", "G_VGG", "D_real", "D_fake")
MODEL_FIELDS = ("ngf", "ngf_local", "n_downsample_global", "n_blocks_global", "n_blocks_local",
                "ndf", "n_layers_D", "num_D", "direction", "in_channels", "out_channels")
STAGES = ("global", "local-frozen-global", "joint")

_COMMON = dict(netG="local_enhancer", norm="instance", dropout=0.0, lr=2e-4, beta1=0.5,
               lambda_FM=10.0, lambda_VGG=10.0, lambda_L1=0.0, interpolation="bilinear")

PRESETS: dict[str, dict] = {
    # A few seconds: tests and CI (64 px tiles; two scales, since 1/4 of a 32 px half-res crop is
    # too small).
    "smoke": dict(
        _COMMON, ngf=8, ngf_local=4, n_downsample_global=2, n_blocks_global=1, n_blocks_local=1,
        ndf=8, n_layers_D=2, num_D=2, load_size=64, crop_size=64, eval_size=64, batch_size=2,
        max_steps=6, max_train_items=16, save_every=3, n_samples=2, epochs=1, compile="off",
        global_fraction=0.34, freeze_global_fraction=0.17,
    ),
    # Maps at 512 (each 600 px half scaled to 512, as the protocol), random 256 crops
    # (G1 sees 128 while alone; the networks are fully convolutional, so they run on whole
    # 512 tiles at test time), narrow networks so that a few CPU minutes give real results.
    "cpu-quick": dict(
        _COMMON, ngf=32, ngf_local=16, n_downsample_global=3, n_blocks_global=3, n_blocks_local=1,
        ndf=16, n_layers_D=3, num_D=3, load_size=512, crop_size=256, eval_size=512, batch_size=2,
        lr=5e-4, epochs=4, decay_fraction=0.5, save_every=250, compile="off",
        global_fraction=0.4, freeze_global_fraction=0.1,
    ),
    # The paper's networks (section 3.2 and appendix): G1 ngf 64 with 4 downsamplings and 9
    # residual blocks, G2 ngf 32 with 3, three 70x70 PatchGANs, lambda_FM = lambda_VGG = 10,
    # Adam 2e-4 / 0.5, batch 1, whole 512 tiles; 200 epochs, the second half decaying. G1 alone
    # for the first half (at 256), G2 with G1 frozen for the next 10 %, then jointly.
    "paper": dict(
        _COMMON, ngf=64, ngf_local=32, n_downsample_global=4, n_blocks_global=9, n_blocks_local=3,
        ndf=64, n_layers_D=3, num_D=3, load_size=512, crop_size=512, eval_size=512, batch_size=1,
        epochs=200, decay_fraction=0.5, global_fraction=0.5, freeze_global_fraction=0.1,
    ),
}


def stage_at(progress: float, global_fraction: float, freeze_global_fraction: float) -> str:
    """The coarse-to-fine stage at ``progress`` in ``[0, 1]``: one of :data:`STAGES`."""
    if progress < global_fraction:
        return "global"
    if progress < global_fraction + freeze_global_fraction:
        return "local-frozen-global"
    return "joint"


def hd_train_step(netG, netD, optG, optD, real_A, real_B, *, stage: str = "joint",
                  lambda_FM: float = 10.0, lambda_VGG: float = 0.0, vgg=None,
                  lambda_L1: float = 0.0, autocast=None, scalers=None) -> dict:
    """One Pix2PixHD step: update ``netD`` once, then ``netG`` once.

    Args:
        netG: a :class:`~course_utils.models.pix2pixhd.LocalEnhancer` (possibly wrapped in DDP or
            ``torch.compile``).
        netD: a :class:`~course_utils.models.pix2pixhd.MultiscaleDiscriminator`.
        real_A, real_B: ``(N, 3, H, W)`` in ``[-1, 1]``, ``H``/``W`` multiples of
            ``2 ** netG.num_downs``.
        stage: ``"global"`` (G1 alone on the pair downsampled by 2), ``"local-frozen-global"`` or
            ``"joint"``.
        lambda_FM, lambda_VGG: loss weights (paper: 10 and 10); ``vgg`` a
            :class:`~course_utils.models.pix2pixhd.VGGLoss` or ``None`` (no VGG term).
        lambda_L1: weight of ``|fake_B - real_B|`` (mean over pixels); 0 (the paper) leaves it out.

    Returns:
        ``{"G_GAN", "G_FM", "G_VGG", "D_real", "D_fake"}`` as floats, and ``"G_L1"`` when
        ``lambda_L1 > 0``; ``G_FM``, ``G_VGG`` and ``G_L1`` include their weights, ``G_VGG`` is 0
        without ``vgg``.

    Raises:
        CourseError: for an unknown ``stage``.
    """
    if stage not in STAGES:
        raise CourseError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    ctx = autocast or contextlib.nullcontext
    scaler_G, scaler_D = scalers or (None, None)
    G = unwrap(netG)
    g1_params = list(G.global_net.parameters())
    # Parameters that this stage does not train: their gradients are dropped before the update,
    # so Adam leaves them unchanged (also under DDP, which may hand back zero gradients).
    idle = {
        "global": [p for n, p in G.named_parameters() if not n.startswith("global_net.")],
        "local-frozen-global": g1_params,
        "joint": list(G.global_net.head.parameters()),
    }[stage]

    if stage == "global":
        real_A, real_B = downsample(real_A), downsample(real_B)
    with ctx():
        if stage == "global":
            fake_B = netG(real_A, stage="global")
        else:
            fake_B = netG(real_A, stage=stage)

    pred_real, d_real, d_fake = discriminator_step(netD, optD, real_A, real_B, fake_B, lsgan_loss,
                                                   ctx=ctx, scaler=scaler_D, halve=True)

    set_requires_grad(netD, False)
    optG.zero_grad(set_to_none=True)
    with ctx():
        g_gan, g_fm, g_vgg = generator_gan_terms(netD, real_A, fake_B, real_B, pred_real,
                                                 lambda p: lsgan_loss(p, True), lambda_FM, vgg,
                                                 lambda_VGG)
        loss_G = g_gan + g_fm + g_vgg
        if lambda_L1 > 0:
            g_l1 = lambda_L1 * F.l1_loss(fake_B, real_B)
            loss_G = loss_G + g_l1
    backward_and_step(optG, loss_G, scaler_G, drop_grads=idle)
    set_requires_grad(netD, True)
    losses = {"G_GAN": g_gan.detach().item(), "G_FM": g_fm.detach().item(),
              "G_VGG": g_vgg.detach().item(),
              "D_real": d_real.detach().item(), "D_fake": d_fake.detach().item()}
    if lambda_L1 > 0:
        losses["G_L1"] = g_l1.detach().item()
    return losses


def vgg_loss_if_available(model: str, lambda_VGG: float, device, is_main: bool) -> VGGLoss | None:
    """The VGG perceptual loss for ``model``'s recipe, or ``None`` (with a printed reason).

    ``None`` when ``lambda_VGG <= 0`` or when no pretrained VGG19 weights are on disk (the course
    never downloads them: see :func:`vgg19_weights_path`); the main process says which.
    Shared by the Pix2PixHD and SPADE recipes.
    """
    if lambda_VGG <= 0:
        return None
    if vgg19_weights_available():
        if is_main:
            print(f"{model}: VGG perceptual loss on (lambda_VGG = {lambda_VGG})", flush=True)
        return VGGLoss(pretrained=True).to(device)
    if is_main:
        print(f"{model}: no pretrained VGG19 weights at {vgg19_weights_path()}: training without "
              f"the VGG loss (G_VGG = 0)", flush=True)
    return None


# One panel of losses.png per entry: (title, keys)
PIX2PIXHD_PLOT = (("adversarial losses (LSGAN, summed over scales)",
                   ("G_GAN", "D_real", "D_fake")),
                  ("feature matching, VGG and L1 (weighted)", ("G_FM", "G_VGG", "G_L1")))


class Pix2PixHDRecipe(ModelRecipe):
    """Coarse-to-fine ``netG`` (G1 + G2), multi-scale ``netD``, LSGAN + feature matching (+ VGG)."""

    name = "pix2pixhd"
    options = (Option("lambda_FM", "--lambda-fm",
                      "weight of the feature-matching loss (paper: 10)"),
               Option("lambda_L1", "--lambda-l1",
                      "weight of an L1 term, as Pix2Pix's (paper: none, 0)"))
    loss_keys = LOSS_KEYS
    model_fields = MODEL_FIELDS
    presets = PRESETS
    plot_groups = PIX2PIXHD_PLOT
    ddp_find_unused_parameters = True

    def __init__(self, cfg):
        super().__init__(cfg)
        self.vgg = None
        if cfg.ngf != 2 * cfg.ngf_local:
            raise CourseError(f"pix2pixhd: ngf (G1, {cfg.ngf}) must be twice ngf_local "
                              f"(G2, {cfg.ngf_local}) for the fusion by addition, e.g. 64 and 32")
        if not 0 <= cfg.global_fraction <= 1 or not 0 <= cfg.freeze_global_fraction <= 1:
            raise CourseError(f"pix2pixhd: global_fraction and freeze_global_fraction must be in "
                              f"[0, 1], got {cfg.global_fraction} and "
                              f"{cfg.freeze_global_fraction}")
        multiple = 2 ** (cfg.n_downsample_global + 1)
        for name in ("crop_size", "eval_size"):
            if getattr(cfg, name) % multiple:
                raise CourseError(f"pix2pixhd: {name} {getattr(cfg, name)} must be a multiple of "
                                  f"{multiple} (2 ** (n_downsample_global + 1)); e.g. "
                                  f"{multiple * max(1, getattr(cfg, name) // multiple)}")

    def build_networks(self, cfg):
        c = self.cfg
        netG = define_G_hd(c.in_channels, c.out_channels, c.ngf, c.ngf_local,
                           c.n_downsample_global, c.n_blocks_global, c.n_blocks_local)
        netD = define_D_hd(c.in_channels + c.out_channels, c.ndf, c.n_layers_D, c.num_D)
        return netG, netD

    def setup(self, device, is_main: bool) -> None:
        self.vgg = vgg_loss_if_available(self.name, self.cfg.lambda_VGG, device, is_main)

    def stage(self, progress: float) -> str:
        return stage_at(progress, self.cfg.global_fraction, self.cfg.freeze_global_fraction)

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress, autocast, scalers):
        return hd_train_step(netG, netD, optG, optD, real_A, real_B, stage=self.stage(progress),
                             lambda_FM=self.cfg.lambda_FM, lambda_VGG=self.cfg.lambda_VGG,
                             vgg=self.vgg, lambda_L1=self.cfg.lambda_L1, autocast=autocast,
                             scalers=scalers)

    def generate(self, netG, real_A, progress):
        if self.stage(progress) == "global":  # G2 is untrained yet: show G1's output, upsampled
            return F.interpolate(netG(downsample(real_A), stage="global"), scale_factor=2,
                                 mode="bilinear", align_corners=False)
        return netG(real_A)

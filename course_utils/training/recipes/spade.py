"""SPADE / GauGAN on the training seam (Park et al., CVPR 2019): facades labels -> photo.

The networks and losses are in :mod:`course_utils.models.spade`. The input
``real_A`` is the RGB label map as the data set stores it (facades: the right
half of each file, so ``direction="BtoA"``); ``netG`` snaps it to the CMP class
colours (:data:`course_utils.evaluation.palette.FACADES_COLOURS`) and one-hot encodes it,
so ``pix2pix eval`` and ``translate`` work on label images unchanged.

**The step** (paper section 4 and the official ``pix2pix_model.py``): ``netD``
on ``hinge(real) + hinge(fake)``; ``netG`` on ``hinge_G(fake) + lambda_FM * FM
+ lambda_VGG * VGG (+ lambda_KLD * KL with the VAE)``, the discriminator
seeing the one-hot map concatenated with the photo. Feature matching is
Pix2PixHD's (:func:`~course_utils.models.pix2pixhd.feature_matching_loss`),
divided by ``num_D`` as the official code averages over the scales. The VGG
term is used only when torchvision's pretrained VGG19 weights are cached (as
for Pix2PixHD). **Optimisers:** the two time-scale update rule of the
official code: Adam with ``lr / 2`` for ``netG`` and ``2 * lr`` for ``netD``,
betas ``(beta1, 0.9)`` with ``beta1 = 0``.
"""

from __future__ import annotations

import contextlib

import torch

from course_utils.errors import CourseError
from course_utils.evaluation.palette import FACADES_COLOURS
from course_utils.losses.gan import hinge_d_loss, hinge_g_loss
from course_utils.losses.pixel import kl_divergence
from course_utils.models.init import set_requires_grad, unwrap
from course_utils.models.spade import define_D_spade, define_G_spade
from course_utils.training.execution import adam
from course_utils.training.precision import backward_and_step
from course_utils.training.recipes import (
    ModelRecipe,
    Option,
    discriminator_step,
    generator_gan_terms,
)
from course_utils.training.recipes.pix2pixhd import vgg_loss_if_available

LOSS_KEYS = ("G_GAN", "G_FM", "G_VGG", "G_KLD", "D_real", "D_fake")
MODEL_FIELDS = ("ngf", "n_up", "spade_hidden", "use_vae", "z_dim", "nef", "n_layers_E", "ndf",
                "n_layers_D", "num_D", "direction", "out_channels")
BETA2 = 0.9

_COMMON = dict(dataset="facades", direction="BtoA", netG="spade", norm="spectral-spade",
               dropout=0.0, lr=2e-4, beta1=0.0, lambda_FM=10.0, lambda_VGG=10.0, lambda_KLD=0.05,
               interpolation="bilinear")

PRESETS: dict[str, dict] = {
    # A few seconds: tests and CI (32 px, tiny networks).
    "smoke": dict(
        _COMMON, ngf=4, n_up=3, spade_hidden=8, ndf=4, n_layers_D=2, num_D=2, load_size=32,
        crop_size=32, eval_size=32, batch_size=2, max_steps=4, max_train_items=8, save_every=2,
        n_samples=2, epochs=1, compile="off", lambda_VGG=0.0, nef=4, n_layers_E=2, z_dim=8,
    ),
    # A few CPU minutes: facades at 128 px (each 256 px half scaled to 143, random 128 crops, 128 at
    # test time), narrow networks (the paper's depth of 5 upsamplings, ngf 16, SPADE hidden
    # width 32), batch 4.
    "cpu-quick": dict(
        _COMMON, ngf=16, n_up=5, spade_hidden=32, ndf=16, n_layers_D=3, num_D=2, load_size=143,
        crop_size=128, eval_size=128, batch_size=4, lr=4e-4, epochs=20, decay_fraction=0.5,
        save_every=200, compile="off", nef=16, n_layers_E=4, z_dim=64,
    ),
    # The paper's settings where they fit facades (section 4 and the official defaults): ngf 64 with
    # 5 upsamplings, SPADE hidden width 128, two 4-layer discriminators, hinge loss,
    # lambda_FM = lambda_VGG = 10, TTUR (G 1e-4, D 4e-4, betas 0 / 0.9), 200 epochs with the
    # second half decaying, 286 -> 256 crops, batch 1.
    "paper": dict(
        _COMMON, ngf=64, n_up=5, spade_hidden=128, ndf=64, n_layers_D=4, num_D=2, load_size=286,
        crop_size=256, eval_size=256, batch_size=1, epochs=200, decay_fraction=0.5, nef=64,
        n_layers_E=6, z_dim=256,
    ),
}




def spade_train_step(netG, netD, optG, optD, real_A, real_B, *, lambda_FM: float = 10.0,
                     lambda_VGG: float = 0.0, lambda_KLD: float = 0.05, vgg=None, autocast=None,
                     scalers=None) -> dict:
    """One SPADE step: update ``netD`` once (hinge), then ``netG`` once (hinge + FM (+ VGG) (+ KL)).

    Args:
        netG: a :class:`~course_utils.models.spade.SPADEGenerator` (possibly wrapped).
        netD: from :func:`~course_utils.models.spade.define_D_spade`.
        real_A: ``(N, 3, H, W)`` RGB label maps in ``[-1, 1]``; real_B: ``(N, 3, H, W)`` photos in
            ``[-1, 1]``.
        lambda_FM, lambda_VGG, lambda_KLD: loss weights (paper: 10, 10, 0.05); ``vgg`` a
            :class:`~course_utils.models.pix2pixhd.VGGLoss` or ``None``.

    Returns:
        ``{"G_GAN", "G_FM", "G_VGG", "G_KLD", "D_real", "D_fake"}`` as floats (weighted terms).
    """
    ctx = autocast or contextlib.nullcontext
    scaler_G, scaler_D = scalers or (None, None)
    G = unwrap(netG)
    num_D = len(unwrap(netD).nets)

    with ctx():
        seg = G.labels(real_A)
        if G.use_vae:
            fake_B, mu, logvar = netG(real_A, style=real_B, return_stats=True)
        else:
            fake_B, mu, logvar = netG(real_A), None, None

    pred_real, d_real, d_fake = discriminator_step(netD, optD, seg, real_B, fake_B, hinge_d_loss,
                                                   ctx=ctx, scaler=scaler_D, halve=False)

    set_requires_grad(netD, False)
    optG.zero_grad(set_to_none=True)
    with ctx():
        # feature matching weighted lambda_FM / num_D, as the official code
        g_gan, g_fm, g_vgg = generator_gan_terms(netD, seg, fake_B, real_B, pred_real, hinge_g_loss,
                                                 lambda_FM / num_D, vgg, lambda_VGG)
        g_kld = lambda_KLD * kl_divergence(mu, logvar) if mu is not None else torch.zeros(())
        loss_G = g_gan + g_fm + g_vgg.to(g_gan.device) + g_kld.to(g_gan.device)
    backward_and_step(optG, loss_G, scaler_G)
    set_requires_grad(netD, True)
    return {"G_GAN": g_gan.detach().item(), "G_FM": g_fm.detach().item(),
            "G_VGG": g_vgg.detach().item(), "G_KLD": g_kld.detach().item(),
            "D_real": d_real.detach().item(), "D_fake": d_fake.detach().item()}


class SpadeRecipe(ModelRecipe):
    """SPADE generator from the label map, multi-scale spectral-norm PatchGAN, hinge + feature
    matching."""

    name = "spade"
    options = (
        Option("lambda_FM", "--lambda-fm", "weight of the feature-matching loss (paper: 10)"),
        Option("use_vae", "--use-vae",
               "train the VAE style encoder too (multimodal synthesis, KL weight 0.05)", type=bool),
    )
    loss_keys = LOSS_KEYS
    model_fields = MODEL_FIELDS
    presets = PRESETS
    plot_groups = (("adversarial losses (hinge, mean over scales)",
                    ("G_GAN", "D_real", "D_fake")),
                   ("feature matching, VGG, KL (weighted)", ("G_FM", "G_VGG", "G_KLD")))

    def __init__(self, cfg):
        super().__init__(cfg)
        self.vgg = None
        multiple = 2**cfg.n_up
        for name in ("crop_size", "eval_size"):
            if getattr(cfg, name) % multiple:
                raise CourseError(f"spade: {name} {getattr(cfg, name)} must be a multiple of "
                                  f"2 ** n_up = {multiple}; "
                                  f"e.g. {multiple * max(1, getattr(cfg, name) // multiple)}")
        if cfg.use_vae and cfg.eval_size != cfg.crop_size:
            raise CourseError(f"spade with the VAE runs at one size: eval_size ({cfg.eval_size}) "
                              f"must equal crop_size ({cfg.crop_size})")

    def build_generator(self, cfg):
        c = self.cfg
        return define_G_spade(FACADES_COLOURS, c.out_channels, c.ngf, c.n_up, hidden=c.spade_hidden,
                              use_vae=c.use_vae, z_dim=c.z_dim, nef=c.nef, n_layers_E=c.n_layers_E,
                              crop_size=c.crop_size)

    def build_networks(self, cfg):
        c = self.cfg
        netD = define_D_spade(len(FACADES_COLOURS) + c.out_channels, c.ndf, c.n_layers_D, c.num_D)
        return self.build_generator(cfg), netD

    def make_optimizers(self, netG, netD, fused: bool = False):
        lr, b1 = self.cfg.lr, self.cfg.beta1
        optG = adam(netG.parameters(), lr=lr / 2, betas=(b1, BETA2), fused=fused)
        optD = adam(netD.parameters(), lr=lr * 2, betas=(b1, BETA2), fused=fused)
        return optG, optD

    def setup(self, device, is_main: bool) -> None:
        self.vgg = vgg_loss_if_available(self.name, self.cfg.lambda_VGG, device, is_main)

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress, autocast, scalers):
        c = self.cfg
        return spade_train_step(netG, netD, optG, optD, real_A, real_B, lambda_FM=c.lambda_FM,
                                lambda_VGG=c.lambda_VGG, lambda_KLD=c.lambda_KLD, vgg=self.vgg,
                                autocast=autocast, scalers=scalers)

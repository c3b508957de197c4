"""CycleGAN on the training seam (Zhu et al., ICCV 2017): unpaired A <-> B.

The networks are in :mod:`course_utils.models.cyclegan`, the losses in :mod:`course_utils.losses`;
the image pool and the step are here. The loop's ``netG`` is
:class:`~course_utils.models.cyclegan.CycleGANGenerators` (``netG(real_A)`` is ``G_AB(real_A)``,
so ``pix2pix eval`` and ``translate`` score and apply the A-to-B direction like any Pix2Pix
checkpoint) and its ``netD`` is :class:`~course_utils.models.cyclegan.CycleGANDiscriminators`;
one Adam optimiser covers both generators and one both discriminators, as in the paper's code.

**Unpaired data.** The recipe sets ``unpaired = True``: the loop then draws
each batch's ``real_B`` from its own shuffled order of the training set,
independent of the order that gives ``real_A`` (each image with its own random
crop and flip), so the aligned pairs of ``maps/train`` are never used as pairs.
(An A and a B come from the same tile only by chance: about once per epoch.)
Evaluation on the paired val split is then exactly the protocol of the GcGAN
and CycleGAN papers: translate each held-out aerial photo and compare with its
true map.
"""

from __future__ import annotations

import contextlib
import random

import torch
from torch import nn

from course_utils.errors import CourseError
from course_utils.losses.gan import lsgan
from course_utils.losses.pixel import cycle_consistency_loss, identity_loss
from course_utils.models.cyclegan import define_cyclegan
from course_utils.models.init import set_requires_grad, unwrap
from course_utils.training.precision import backward_and_step
from course_utils.training.recipes import ModelRecipe, Option

LOSS_KEYS = ("G_GAN", "G_cyc", "G_idt", "D_A", "D_B")


class ImagePool:
    """A history of generated images for the discriminators (Shrivastava et al. 2017; CycleGAN
    section 4).

    ``query(images)`` takes a batch ``(N, C, H, W)`` and returns a batch of the
    same shape: while the pool holds fewer than ``size`` images each new image
    is stored and returned; afterwards, with probability 1/2 a new image is
    returned as is, otherwise a random stored one is returned and the new one
    takes its place. ``size = 0`` returns the batch unchanged. The stored images
    are detached. The random draws use Python's ``random`` module (seeded and
    checkpointed by the training loop); the pool itself is not checkpointed, so
    a resumed run starts with an empty history.
    """

    def __init__(self, size: int = 50):
        if size < 0:
            raise CourseError(f"image pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def cyclegan_step(G_AB: nn.Module, G_BA: nn.Module, D_A: nn.Module, D_B: nn.Module, optG, optD,
                  real_A: torch.Tensor, real_B: torch.Tensor, *, lambda_cyc: float = 10.0,
                  lambda_idt: float = 0.5, pool_A: ImagePool | None = None,
                  pool_B: ImagePool | None = None, autocast=None, scalers=None) -> dict:
    """One CycleGAN training step (the order of the paper's code): both generators once, then both
    discriminators once.

    1. ``fake_B = G_AB(real_A)``, ``rec_A = G_BA(fake_B)``, ``fake_A = G_BA(real_B)``,
       ``rec_B = G_AB(fake_A)``.
    2. Generators, with ``D_A`` and ``D_B`` frozen: ``optG`` (over both generators' parameters)
       steps on ``LSGAN(D_B(fake_B), real) + LSGAN(D_A(fake_A), real) +
       cycle_consistency_loss(...) + identity_loss(...)``; the identity terms need
       ``same_B = G_AB(real_B)`` and ``same_A = G_BA(real_A)`` and are skipped (0) when
       ``lambda_idt == 0``.
    3. Discriminators: ``optD`` (over both) steps on
       ``0.5 * (LSGAN(D_A(real_A), real) + LSGAN(D_A(f_A), fake)) +
       0.5 * (LSGAN(D_B(real_B), real) + LSGAN(D_B(f_B), fake))`` with ``f_A``, ``f_B`` the
       *detached* fakes passed through the image pools (the fakes themselves without pools).

    Args:
        real_A, real_B: ``(N, 3, H, W)`` in ``[-1, 1]``, drawn independently (no pairing is
            used).
        lambda_cyc, lambda_idt: the paper's 10 and 0.5 (the identity weight is
            ``lambda_idt * lambda_cyc``).
        autocast, scalers: optional mixed precision, as in
            :func:`course_utils.training.loop.train_step`.

    Returns:
        ``{"G_GAN", "G_cyc", "G_idt", "D_A", "D_B"}`` as floats: the two generators' adversarial
        terms summed, the weighted cycle and identity terms, and each discriminator's (halved)
        loss.
    """
    ctx = autocast or contextlib.nullcontext
    scaler_G, scaler_D = scalers or (None, None)

    with ctx():
        fake_B = G_AB(real_A)
        rec_A = G_BA(fake_B)
        fake_A = G_BA(real_B)
        rec_B = G_AB(fake_A)

    set_requires_grad((D_A, D_B), False)
    optG.zero_grad(set_to_none=True)
    with ctx():
        g_gan = lsgan(D_B(fake_B), True) + lsgan(D_A(fake_A), True)
        g_cyc = cycle_consistency_loss(real_A, rec_A, real_B, rec_B, lambda_cyc)
        if lambda_idt > 0:
            g_idt = identity_loss(real_A, G_BA(real_A), real_B, G_AB(real_B), lambda_cyc,
                                  lambda_idt)
        else:
            g_idt = torch.zeros((), device=real_A.device)
        loss_G = g_gan + g_cyc + g_idt
    backward_and_step(optG, loss_G, scaler_G)
    set_requires_grad((D_A, D_B), True)

    f_A = pool_A.query(fake_A.detach()) if pool_A is not None else fake_A.detach()
    f_B = pool_B.query(fake_B.detach()) if pool_B is not None else fake_B.detach()
    optD.zero_grad(set_to_none=True)
    with ctx():
        d_A = 0.5 * (lsgan(D_A(real_A), True) + lsgan(D_A(f_A), False))
        d_B = 0.5 * (lsgan(D_B(real_B), True) + lsgan(D_B(f_B), False))
    backward_and_step(optD, d_A + d_B, scaler_D)
    return {"G_GAN": g_gan.detach().item(), "G_cyc": g_cyc.detach().item(),
            "G_idt": g_idt.detach().item(), "D_A": d_A.detach().item(), "D_B": d_B.detach().item()}

MODEL_FIELDS = ("netG", "ngf", "ndf", "n_layers_D", "norm", "direction", "in_channels",
                "out_channels")

_COMMON = dict(norm="instance", dropout=0.0, lr=2e-4, beta1=0.5, lambda_cyc=10.0, lambda_idt=0.5,
               compile="off")

PRESETS: dict[str, dict] = {
    # A few seconds: tests and CI.
    "smoke": dict(
        _COMMON, netG="unet_32", ngf=8, ndf=8, load_size=64, crop_size=32, eval_size=64,
        batch_size=2, max_steps=6, max_train_items=16, save_every=3, n_samples=2, epochs=1,
        pool_size=4,
    ),
    # The same networks, data scale and batch as Pix2Pix's cpu-quick (unet_128 ngf 32, PatchGAN
    # ndf 32, 600 -> 256 tiles, random 128 crops, whole 256 tiles at test time), so that a
    # comparison at equal CPU time differs only in the supervision and the losses; the paper's lr
    # 2e-4 (LSGAN).
    "cpu-quick": dict(
        _COMMON, netG="unet_128", ngf=32, ndf=32, load_size=256, crop_size=128, eval_size=256,
        interpolation="bilinear", batch_size=4, epochs=12, decay_fraction=0.5, save_every=250,
        pool_size=50,
    ),
    # The paper (section 4 and appendix 7.2): resnet_9blocks at 256 px, 70x70 PatchGAN, instance
    # norm, LSGAN, lambda 10, identity 0.5 * lambda, pool of 50, Adam 2e-4 / 0.5, batch 1, 100
    # epochs at constant lr then 100 decaying linearly; jitter 286 -> 256 and flips.
    "paper": dict(
        _COMMON, netG="resnet_9blocks", ngf=64, ndf=64, n_layers_D=3, load_size=286, crop_size=256,
        eval_size=256, batch_size=1, epochs=200, decay_fraction=0.5, pool_size=50,
    ),
}


# One panel of losses.png per entry: (title, keys)
CYCLEGAN_PLOT = (("adversarial (LSGAN): generators summed, each D halved",
                  ("G_GAN", "D_A", "D_B")),
                 ("cycle and identity L1 (weighted)", ("G_cyc", "G_idt")))


class CycleGANRecipe(ModelRecipe):
    """Two generators (A->B, B->A), two PatchGANs, LSGAN + ``lambda_cyc`` * cycle + identity,
    unpaired batches."""

    name = "cyclegan"
    options = (
        Option("lambda_cyc", "--lambda-cyc", "weight of the cycle-consistency loss (paper: 10)"),
        Option("lambda_idt", "--lambda-idt", "weight of the identity loss as a fraction of "
               "--lambda-cyc (paper: 0.5; 0 = off)"),
    )
    loss_keys = LOSS_KEYS
    model_fields = MODEL_FIELDS
    presets = PRESETS
    plot_groups = CYCLEGAN_PLOT
    unpaired = True

    def __init__(self, cfg):
        super().__init__(cfg)
        if cfg.lambda_cyc < 0 or cfg.lambda_idt < 0:
            raise CourseError(f"cyclegan: lambda_cyc and lambda_idt must be >= 0, got "
                              f"{cfg.lambda_cyc} and {cfg.lambda_idt} (paper: 10 and 0.5)")
        if cfg.lambda_idt > 0 and cfg.in_channels != cfg.out_channels:
            raise CourseError(f"cyclegan: the identity loss needs as many input as output channels "
                              f"({cfg.in_channels} vs {cfg.out_channels}); set lambda_idt to 0")
        self.pool_A, self.pool_B = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)

    def setup(self, device, is_main: bool) -> None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            raise CourseError("cyclegan trains on one process only (its step calls the four "
                              "networks directly); run it without torchrun")

    def build_networks(self, cfg):
        c = self.cfg
        return define_cyclegan(c.netG, c.ngf, c.ndf, c.n_layers_D, c.norm, c.in_channels,
                               c.out_channels)

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress, autocast, scalers):
        G, D = unwrap(netG), unwrap(netD)  # a torch.compile wrapper: its submodules run eagerly
        return cyclegan_step(G.G_AB, G.G_BA, D.D_A, D.D_B, optG, optD, real_A, real_B,
                             lambda_cyc=self.cfg.lambda_cyc, lambda_idt=self.cfg.lambda_idt,
                             pool_A=self.pool_A, pool_B=self.pool_B, autocast=autocast,
                             scalers=scalers)

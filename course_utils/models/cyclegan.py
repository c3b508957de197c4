"""CycleGAN (Zhu, Park, Isola and Efros, ICCV 2017): unpaired translation with two generators and two critics.

Pix2Pix learns ``G: A -> B`` from aligned pairs ``(a, b)``. CycleGAN has no
pairs: only a set of images of domain A and a set of domain B. It trains two
generators, ``G_AB: A -> B`` and ``G_BA: B -> A``, and two *unconditional*
discriminators, ``D_B`` (is this a real B?) and ``D_A`` (is this a real A?).
Without pairs nothing ties ``G_AB(a)`` to ``a``; the **cycle-consistency**
loss (paper section 3.2, equation 2) does:

    L_cyc = E_a |G_BA(G_AB(a)) - a|_1 + E_b |G_AB(G_BA(b)) - b|_1

The full objective (equation 3) is ``L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) +
lambda_cyc * L_cyc`` with ``lambda_cyc = 10`` and the least-squares GAN loss
(section 4, "Training details", after Mao et al. 2017). The **identity** loss
``E_b |G_AB(b) - b|_1 + E_a |G_BA(a) - a|_1``, first proposed by Taigman et al.
(DTN, ICLR 2017), keeps a generator from changing an image that is already in
its output domain; the paper weights it ``0.5 * lambda_cyc`` (section 5.2).
The discriminators are updated on a **history** of 50 generated images
(Shrivastava et al. 2017; :class:`ImagePool`), and their loss is halved.

The networks are the course's own: the generator is the Pix2Pix U-Net
(:func:`course_utils.models.define_G`, instance norm and no dropout, since
CycleGAN has no noise input) or Johnson et al.'s ResNet generator, which is the
global generator of Pix2PixHD (:class:`~course_utils.models.pix2pixhd.GlobalGenerator`
with 2 downsamplings: the paper's ``resnet_9blocks``); the discriminators are
the 70x70 PatchGAN (:class:`~course_utils.models.PatchGANDiscriminator`) on
one image instead of a pair.
"""

from __future__ import annotations

import contextlib
import random

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.errors import CourseError
from course_utils.models.discriminator import PatchGANDiscriminator
from course_utils.models.generator import define_G
from course_utils.models.init import init_weights
from course_utils.precision import backward_and_step

LOSS_KEYS = ("G_GAN", "G_cyc", "G_idt", "D_A", "D_B")


class PatchGAN(PatchGANDiscriminator):
    """The PatchGAN of :class:`~course_utils.models.PatchGANDiscriminator` on a single image (no condition).

    Shapes: ``forward(x)``: ``(N, in_channels, H, W)`` in ``[-1, 1]`` to logits ``(N, 1, H', W')``
    (``30 x 30`` for ``n_layers=3`` on ``256 x 256``).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.model(x)


def define_G_cycle(netG: str = "unet_128", in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                   norm: str = "instance") -> nn.Module:
    """One CycleGAN generator by name, initialised N(0, 0.02).

    Args:
        netG: ``"unet_N"`` (the Pix2Pix U-Net, without dropout) or ``"resnet_Kblocks"`` (Johnson et al.'s
            ResNet generator: 2 stride-2 downsamplings, ``K`` residual blocks, instance norm; the paper uses
            ``resnet_9blocks`` at 256 px and ``resnet_6blocks`` at 128 px).
        norm: the U-Net's norm (``"instance"`` as in the paper; the ResNet always uses instance norm).

    Raises:
        CourseError: for an unknown name.
    """
    if netG.startswith("resnet_") and netG.endswith("blocks") and netG[7:-6].isdigit():
        from course_utils.models.pix2pixhd import GlobalGenerator

        return init_weights(GlobalGenerator(in_channels, out_channels, ngf, n_downsample=2,
                                            n_blocks=int(netG[7:-6])), 0.02)
    try:
        return define_G(netG, in_channels, out_channels, ngf, norm, dropout=0.0)
    except ValueError as exc:
        raise CourseError(f"cyclegan: {exc}; or 'resnet_9blocks' / 'resnet_6blocks'") from None


class CycleGANGenerators(nn.Module):
    """The two generators in one module: ``forward(real_A)`` is ``G_AB(real_A)`` (A to B).

    This is what the training loop calls ``netG``: its state dict holds both
    generators (``G_AB.*``, ``G_BA.*``), and ``pix2pix eval``/``translate`` run
    ``netG(real_A)``, i.e. the A-to-B direction, exactly as for Pix2Pix.

    Shapes: ``(N, 3, H, W)`` in ``[-1, 1]`` to the same; ``H``, ``W`` multiples of ``2 ** num_downs``.
    """

    def __init__(self, G_AB: nn.Module, G_BA: nn.Module):
        super().__init__()
        self.G_AB, self.G_BA = G_AB, G_BA
        self.num_downs = int(getattr(G_AB, "num_downs", 0))

    def forward(self, real_A: torch.Tensor) -> torch.Tensor:
        return self.G_AB(real_A)


class CycleGANDiscriminators(nn.Module):
    """The two discriminators in one module (the loop's ``netD``): ``D_A`` judges domain A, ``D_B`` domain B.

    ``forward(x, domain="B")`` returns the patch logits of ``D_B(x)`` (or ``D_A(x)``).
    """

    def __init__(self, D_A: nn.Module, D_B: nn.Module):
        super().__init__()
        self.D_A, self.D_B = D_A, D_B

    def forward(self, x: torch.Tensor, domain: str = "B") -> torch.Tensor:
        if domain not in ("A", "B"):
            raise CourseError(f"domain must be 'A' or 'B', got {domain!r}")
        return (self.D_A if domain == "A" else self.D_B)(x)


def define_cyclegan(netG: str = "unet_128", ngf: int = 64, ndf: int = 64, n_layers_D: int = 3,
                    norm: str = "instance", in_channels: int = 3, out_channels: int = 3):
    """``(netG, netD)``: :class:`CycleGANGenerators` and :class:`CycleGANDiscriminators`, initialised N(0, 0.02).

    ``G_AB`` maps ``in_channels`` to ``out_channels`` and ``G_BA`` back; ``D_A``
    sees ``in_channels``, ``D_B`` ``out_channels``. Every network draws its own
    initial weights from the global torch RNG, in the order G_AB, G_BA, D_A, D_B.
    """
    G_AB = define_G_cycle(netG, in_channels, out_channels, ngf, norm)
    G_BA = define_G_cycle(netG, out_channels, in_channels, ngf, norm)
    D_A = init_weights(PatchGAN(in_channels, ndf, n_layers_D, norm), 0.02)
    D_B = init_weights(PatchGAN(out_channels, ndf, n_layers_D, norm), 0.02)
    return CycleGANGenerators(G_AB, G_BA), CycleGANDiscriminators(D_A, D_B)


# --------------------------------------------------------------------------- losses


def lsgan(pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al. 2017): the mean over patches of ``(pred - t)^2``, ``t = 1`` or ``0``."""
    pred = pred.float()
    return F.mse_loss(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))


def cycle_consistency_loss(real_A: torch.Tensor, rec_A: torch.Tensor, real_B: torch.Tensor, rec_B: torch.Tensor,
                           lambda_cyc: float = 10.0) -> torch.Tensor:
    """Weighted cycle-consistency loss, CycleGAN equation 2: ``lambda_cyc * (mean|rec_A - real_A| + mean|rec_B - real_B|)``.

    ``rec_A = G_BA(G_AB(real_A))`` and ``rec_B = G_AB(G_BA(real_B))``; all
    ``(N, 3, H, W)`` in ``[-1, 1]``. The means are over every element (the
    paper's L1 norm divided by the number of elements). Returns a scalar that
    back-propagates into both generators (nothing is detached).
    """
    return lambda_cyc * (F.l1_loss(rec_A.float(), real_A.float()) + F.l1_loss(rec_B.float(), real_B.float()))


def identity_loss(real_A: torch.Tensor, same_A: torch.Tensor, real_B: torch.Tensor, same_B: torch.Tensor,
                  lambda_cyc: float = 10.0, lambda_idt: float = 0.5) -> torch.Tensor:
    """Weighted identity loss (Taigman et al. 2017; CycleGAN section 5.2): ``lambda_idt * lambda_cyc * (mean|same_B - real_B| + mean|same_A - real_A|)``.

    ``same_B = G_AB(real_B)`` (a B given to the A-to-B generator should come out
    unchanged) and ``same_A = G_BA(real_A)``. With the paper's ``lambda_idt =
    0.5`` and ``lambda_cyc = 10`` the weight is 5. Returns a scalar.
    """
    w = lambda_idt * lambda_cyc
    return w * (F.l1_loss(same_B.float(), real_B.float()) + F.l1_loss(same_A.float(), real_A.float()))


class ImagePool:
    """A history of generated images for the discriminators (Shrivastava et al. 2017; CycleGAN section 4).

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


# --------------------------------------------------------------------------- the step


def _set_requires_grad(nets, flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


def cyclegan_step(G_AB: nn.Module, G_BA: nn.Module, D_A: nn.Module, D_B: nn.Module, optG, optD,
                  real_A: torch.Tensor, real_B: torch.Tensor, *, lambda_cyc: float = 10.0,
                  lambda_idt: float = 0.5, pool_A: ImagePool | None = None, pool_B: ImagePool | None = None,
                  autocast=None, scalers=None) -> dict:
    """One CycleGAN training step (the order of the paper's code): both generators once, then both discriminators once.

    1. ``fake_B = G_AB(real_A)``, ``rec_A = G_BA(fake_B)``, ``fake_A = G_BA(real_B)``, ``rec_B = G_AB(fake_A)``.
    2. Generators, with ``D_A`` and ``D_B`` frozen: ``optG`` (over both generators' parameters) steps on
       ``LSGAN(D_B(fake_B), real) + LSGAN(D_A(fake_A), real) + cycle_consistency_loss(...) +
       identity_loss(...)``; the identity terms need ``same_B = G_AB(real_B)`` and ``same_A = G_BA(real_A)``
       and are skipped (0) when ``lambda_idt == 0``.
    3. Discriminators: ``optD`` (over both) steps on
       ``0.5 * (LSGAN(D_A(real_A), real) + LSGAN(D_A(f_A), fake)) + 0.5 * (LSGAN(D_B(real_B), real) +
       LSGAN(D_B(f_B), fake))`` with ``f_A``, ``f_B`` the *detached* fakes passed through the image pools
       (the fakes themselves without pools).

    Args:
        real_A, real_B: ``(N, 3, H, W)`` in ``[-1, 1]``, drawn independently (no pairing is used).
        lambda_cyc, lambda_idt: the paper's 10 and 0.5 (the identity weight is ``lambda_idt * lambda_cyc``).
        autocast, scalers: optional mixed precision, as in :func:`course_utils.train.train_step`.

    Returns:
        ``{"G_GAN", "G_cyc", "G_idt", "D_A", "D_B"}`` as floats: the two generators' adversarial terms
        summed, the weighted cycle and identity terms, and each discriminator's (halved) loss.
    """
    ctx = autocast or contextlib.nullcontext
    scaler_G, scaler_D = scalers or (None, None)

    with ctx():
        fake_B = G_AB(real_A)
        rec_A = G_BA(fake_B)
        fake_A = G_BA(real_B)
        rec_B = G_AB(fake_A)

    _set_requires_grad((D_A, D_B), False)
    optG.zero_grad(set_to_none=True)
    with ctx():
        g_gan = lsgan(D_B(fake_B), True) + lsgan(D_A(fake_A), True)
        g_cyc = cycle_consistency_loss(real_A, rec_A, real_B, rec_B, lambda_cyc)
        if lambda_idt > 0:
            g_idt = identity_loss(real_A, G_BA(real_A), real_B, G_AB(real_B), lambda_cyc, lambda_idt)
        else:
            g_idt = torch.zeros((), device=real_A.device)
        loss_G = g_gan + g_cyc + g_idt
    backward_and_step(optG, loss_G, scaler_G)
    _set_requires_grad((D_A, D_B), True)

    f_A = pool_A.query(fake_A.detach()) if pool_A is not None else fake_A.detach()
    f_B = pool_B.query(fake_B.detach()) if pool_B is not None else fake_B.detach()
    optD.zero_grad(set_to_none=True)
    with ctx():
        d_A = 0.5 * (lsgan(D_A(real_A), True) + lsgan(D_A(f_A), False))
        d_B = 0.5 * (lsgan(D_B(real_B), True) + lsgan(D_B(f_B), False))
    backward_and_step(optD, d_A + d_B, scaler_D)
    return {"G_GAN": g_gan.detach().item(), "G_cyc": g_cyc.detach().item(), "G_idt": g_idt.detach().item(),
            "D_A": d_A.detach().item(), "D_B": d_B.detach().item()}


__all__ = [
    "LOSS_KEYS",
    "CycleGANDiscriminators",
    "CycleGANGenerators",
    "ImagePool",
    "PatchGAN",
    "cycle_consistency_loss",
    "cyclegan_step",
    "define_G_cycle",
    "define_cyclegan",
    "identity_loss",
    "lsgan",
]

"""CycleGAN (Zhu, Park, Isola and Efros, ICCV 2017): unpaired translation with two generators and
two critics.

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

import torch
from torch import nn

from course_utils.errors import CourseError
from course_utils.models.discriminator import PatchGANDiscriminator
from course_utils.models.generator import define_G
from course_utils.models.init import init_weights


class PatchGAN(PatchGANDiscriminator):
    """The PatchGAN of :class:`~course_utils.models.PatchGANDiscriminator` on a single image (no
    condition).

    Shapes: ``forward(x)``: ``(N, in_channels, H, W)`` in ``[-1, 1]`` to logits ``(N, 1, H', W')``
    (``30 x 30`` for ``n_layers=3`` on ``256 x 256``).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.model(x)


def define_G_cycle(netG: str = "unet_128", in_channels: int = 3, out_channels: int = 3,
                   ngf: int = 64, norm: str = "instance") -> nn.Module:
    """One CycleGAN generator by name, initialised N(0, 0.02).

    Args:
        netG: ``"unet_N"`` (the Pix2Pix U-Net, without dropout) or ``"resnet_Kblocks"`` (Johnson
            et al.'s ResNet generator: 2 stride-2 downsamplings, ``K`` residual blocks, instance
            norm; the paper uses ``resnet_9blocks`` at 256 px and ``resnet_6blocks`` at 128 px).
        norm: the U-Net's norm (``"instance"`` as in the paper; the ResNet always uses instance
            norm).

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

    Shapes: ``(N, 3, H, W)`` in ``[-1, 1]`` to the same; ``H``, ``W`` multiples of
    ``2 ** num_downs``.
    """

    def __init__(self, G_AB: nn.Module, G_BA: nn.Module):
        super().__init__()
        self.G_AB, self.G_BA = G_AB, G_BA
        self.num_downs = int(getattr(G_AB, "num_downs", 0))

    def forward(self, real_A: torch.Tensor) -> torch.Tensor:
        return self.G_AB(real_A)


class CycleGANDiscriminators(nn.Module):
    """The two discriminators in one module (the loop's ``netD``): ``D_A`` judges domain A, ``D_B``
    domain B.

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
    """``(netG, netD)``: :class:`CycleGANGenerators` and :class:`CycleGANDiscriminators`,
    initialised N(0, 0.02).

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


# --------------------------------------------------------------------------- the step


__all__ = [
    "CycleGANDiscriminators",
    "CycleGANGenerators",
    "PatchGAN",
    "define_G_cycle",
    "define_cyclegan",
]

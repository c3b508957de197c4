"""SRGAN: the SRResNet generator, its discriminator and its losses (Ledig et al., CVPR 2017).

Ledig et al., *Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network*, CVPR 2017 (section 2.2 and figure 4 for the networks,
section 2.2.1 for the perceptual loss). Images are ``(N, 3, H, W)`` tensors in
``[-1, 1]``; the generator maps an ``(N, 3, h, w)`` low-resolution input to
``(N, 3, 4h, 4w)`` (×4, two ×2 stages).

- :class:`SRResNet` (``netG``): a 9×9 convolution + PReLU, ``B`` residual blocks
  (:class:`ResidualBlock`: conv-BN-PReLU-conv-BN plus the input; the paper's
  ``B = 16``), a conv-BN closing the body and a long skip from the front end
  around it, two sub-pixel upsampling blocks (:class:`SubPixelUpsample`: a 3×3
  conv to ``4C`` channels, ``PixelShuffle(2)``, PReLU; Shi et al., CVPR 2016),
  and a 9×9 output convolution. The output is linear (no tanh): an MSE-trained
  network should be free to reach the targets' range; values are clipped when
  images are saved or scored.
- :class:`SRDiscriminator` (``netD``): a 3×3 conv + LeakyReLU(0.2), seven
  3×3 conv-BN-LeakyReLU blocks whose channels double (64 to 512) while every
  second one halves the resolution with stride 2, then the dense head
  (1024 units, LeakyReLU, 1 logit). The paper flattens the 6×6×512 map of its
  96² crops into the dense layer; here a global average pool comes first, so the
  head has the paper's widths and the discriminator takes any crop size.
- The losses: :func:`pixel_mse` (SRResNet's loss, equation 4),
  :class:`VGG54Loss` (the content loss on VGG19's ``phi_5,4`` features,
  equation 5, scaled by ``1/12.75**2`` as in the paper's experiments),
  :func:`adversarial_loss` (``-log D(G(I_LR))``, equation 6) with the weight
  :data:`LAMBDA_ADV` ``= 1e-3``, and :func:`srgan_generator_loss` (equation 3:
  content + ``1e-3`` · adversarial).
"""

from __future__ import annotations

import torch
from torch import nn

from course_utils.errors import CourseError
from course_utils.models.vgg import (  # noqa: F401 - vgg19_weights_* re-exported for the notebooks
    FrozenVGG19,
    vgg19_weights_available,
    vgg19_weights_path,
)

"""Weight of the adversarial term in the perceptual loss (paper, equation 3)."""

"""Index in ``torchvision.models.vgg19().features`` of the ReLU after conv5_4: ``phi_5,4``."""

"""The paper's rescaling of the VGG feature maps by 1/12.75 (section 3.2), applied to their MSE."""


class ResidualBlock(nn.Module):
    """``x + BN(conv(PReLU(BN(conv(x)))))``: 3×3 convolutions with ``channels`` maps (paper
    figure 4).

    ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.PReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def icnr_(weight: torch.Tensor, upscale: int = 2, init=nn.init.kaiming_normal_) -> torch.Tensor:
    """Initialise a sub-pixel convolution's weight so that it starts as nearest-neighbour
    upsampling (ICNR).

    Aitken et al., *Checkerboard artifact free sub-pixel convolution*, arXiv
    1707.02937 (2017): draw the weights of ``C_out / upscale**2`` filters and
    repeat each ``upscale**2`` times, so the ``upscale**2`` sub-pixels that
    ``PixelShuffle`` puts next to each other start out equal, and the output has
    no checkerboard at initialisation.

    Args:
        weight: ``(C_out, C_in, k, k)`` with ``C_out`` a multiple of ``upscale**2``; changed in
            place.
    """
    c_out = weight.shape[0]
    r2 = upscale**2
    if c_out % r2:
        raise CourseError(f"icnr_: {c_out} output channels are not a multiple of upscale**2 = {r2}")
    base = torch.empty(c_out // r2, *weight.shape[1:])
    init(base)
    with torch.no_grad():
        weight.copy_(base.repeat_interleave(r2, dim=0))
    return weight


class SubPixelUpsample(nn.Module):
    """×2 sub-pixel upsampling: 3×3 conv to ``4 C`` channels, ``PixelShuffle(2)``, PReLU (Shi et
    al. 2016).

    ``(N, C, H, W) -> (N, C, 2H, 2W)``. The convolution works at the low
    resolution and every output pixel gets its own filter (one of the 4 sub-pixel
    phases), so no zeros are inserted and nothing overlaps, unlike a transposed
    convolution. Its weight starts with :func:`icnr_`, so the block starts free
    of checkerboard artefacts.
    """

    def __init__(self, channels: int = 64, upscale: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * upscale**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(upscale)
        self.act = nn.PReLU()
        icnr_(self.conv.weight, upscale)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.conv(x)))


class SRResNet(nn.Module):
    """The SRGAN generator (paper figure 4): ``(N, 3, h, w)`` in ``[-1, 1]`` -> ``(N, 3, 4h, 4w)``
    (linear output).

    Args:
        in_channels, out_channels: image channels (3).
        ngf: feature maps of the body (paper: 64).
        n_blocks: residual blocks ``B`` (paper: 16).
        scale: the upscaling factor, a power of 2 (paper: 4, two sub-pixel blocks).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                 n_blocks: int = 16, scale: int = 4):
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise CourseError(f"SRResNet: scale must be a power of 2 (2, 4, 8), got {scale}")
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(in_channels, ngf, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(*[ResidualBlock(ngf) for _ in range(n_blocks)],
                                  nn.Conv2d(ngf, ngf, 3, padding=1), nn.BatchNorm2d(ngf))
        self.upsample = nn.Sequential(*[SubPixelUpsample(ngf, 2)
                                        for _ in range(scale.bit_length() - 1)])
        self.tail = nn.Conv2d(ngf, out_channels, 9, padding=4)

    def forward(self, real_A: torch.Tensor) -> torch.Tensor:
        h = self.head(real_A)
        return self.tail(self.upsample(h + self.body(h)))  # the long skip


class SRDiscriminator(nn.Module):
    """The SRGAN discriminator (paper figure 4): ``(N, 3, H, W)`` -> ``(N, 1)`` logits (no sigmoid).

    Args:
        in_channels: image channels (3).
        ndf: channels of the first convolution (paper: 64); they double every
            second block up to ``8 ndf``.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 3, padding=1),
                                   nn.LeakyReLU(0.2, inplace=True)]
        c = ndf
        for i, mult in enumerate((1, 2, 2, 4, 4, 8, 8)):
            stride = 2 if i % 2 == 0 else 1
            layers += [nn.Conv2d(c, ndf * mult, 3, stride=stride, padding=1, bias=False),
                       nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, inplace=True)]
            c = ndf * mult
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 2 * c),
                                  nn.LeakyReLU(0.2, inplace=True), nn.Linear(2 * c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def define_G_sr(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 16,
                scale: int = 4) -> SRResNet:
    """An :class:`SRResNet` with PyTorch's default initialisation (ICNR for the sub-pixel
    convolutions)."""
    return SRResNet(in_channels, out_channels, ngf, n_blocks, scale)


def define_D_sr(in_channels: int = 3, ndf: int = 64) -> SRDiscriminator:
    """An :class:`SRDiscriminator` with PyTorch's default initialisation."""
    return SRDiscriminator(in_channels, ndf)


# --------------------------------------------------------------------------- losses


__all__ = [
    "ResidualBlock",
    "SRDiscriminator",
    "SRResNet",
    "SubPixelUpsample",
    "define_D_sr",
    "define_G_sr",
    "icnr_",
    "vgg19_weights_available",
]

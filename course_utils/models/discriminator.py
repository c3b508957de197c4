"""The conditional PatchGAN discriminator ``netD`` and its receptive field.

Source: Isola et al., CVPR 2017, section 3.2.2 and appendix 6.1.2. The 70x70
discriminator is ``C64-C128-C256-C512`` (4x4 convolutions; stride 2 except
the last, which has stride 1; no norm on C64; LeakyReLU 0.2), followed by a
4x4 stride-1 convolution to one channel. Each output value is the logit that
one 70x70 patch of the input pair is real.
"""

from __future__ import annotations

import torch
from torch import nn

from course_utils.models.init import init_weights
from course_utils.models.norm import conv_bias, norm_layer

KERNEL = 4
PADDING = 1


class PatchGANDiscriminator(nn.Module):
    """Conditional PatchGAN: scores every patch of ``(real_A, B)`` as real or fake.

    Args:
        in_channels: channels of the concatenated pair, e.g. 6 for RGB A and B.
        ndf: filters of the first layer (64 in the paper).
        n_layers: stride-2 layers; 3 gives the 70x70 PatchGAN, 1 the 16x16,
            and 5 the 286x286 variant of the paper's section 4.4.
        norm: ``"batch"`` or ``"instance"``.

    Shapes:
        ``forward(real_A, B)`` takes two ``(N, C, H, W)`` tensors in ``[-1, 1]``
        whose channels add up to ``in_channels`` and returns raw logits of
        shape ``(N, 1, H', W')``; for ``n_layers=3`` and 256x256 inputs,
        ``H' = W' = 30``. Apply a sigmoid (or ``BCEWithLogitsLoss``) to get
        probabilities.
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        self.n_layers = n_layers
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, KERNEL, stride=2, padding=PADDING),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for i in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, KERNEL, stride=stride, padding=PADDING,
                          bias=bias),
                norm_layer(norm, ndf * mult),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, KERNEL, stride=1, padding=PADDING))
        self.model = nn.Sequential(*layers)

    def forward(self, real_A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, 1, H', W')`` that each patch of the pair ``[real_A, B]`` is real.

        ``B`` is either the real target ``real_B`` or the generated ``fake_B``.
        The condition comes first in the channel concatenation (dim 1).
        """
        return self.model(torch.cat([real_A, B], dim=1))


def define_D(
    in_channels: int = 6,
    ndf: int = 64,
    n_layers: int = 3,
    norm: str = "batch",
    init_gain: float = 0.02,
) -> PatchGANDiscriminator:
    """Build and initialise a conditional PatchGAN.

    With the defaults this is the paper's 70x70 discriminator with 2,768,705
    parameters. See :class:`PatchGANDiscriminator` for the arguments.
    """
    return init_weights(PatchGANDiscriminator(in_channels, ndf, n_layers, norm), init_gain)


def receptive_field(n_layers: int = 3, kernel_size: int = KERNEL) -> int:
    """Side, in input pixels, of the patch that one PatchGAN output sees.

    The network has ``n_layers`` stride-2 convolutions then two stride-1
    convolutions, all ``kernel_size`` wide. Walking back from one output
    pixel, a layer of kernel ``k`` and stride ``s`` turns a field ``r`` into
    ``(r - 1) * s + k``. For ``n_layers=3`` and ``k=4`` this gives 70 (the
    paper's 70x70 PatchGAN); ``n_layers=1`` gives 16, ``n_layers=5`` 286.
    """
    strides = [2] * n_layers + [1, 1]
    r = 1
    for s in reversed(strides):
        r = (r - 1) * s + kernel_size
    return r

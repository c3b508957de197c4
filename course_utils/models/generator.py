"""The Pix2Pix generator ``netG``: an encoder-decoder U-Net with skip connections.

Source: Isola, Zhu, Zhou and Efros, *Image-to-Image Translation with
Conditional Adversarial Networks*, CVPR 2017, section 3.2.1 and appendix 6.1.1.

Encoder (``Ck`` = Conv 4x4 stride 2 - norm - LeakyReLU 0.2, no norm on the first)::

    C64-C128-C256-C512-C512-C512-C512-C512        (unet_256, 8 downsamplings)

Decoder (``CDk`` adds dropout 0.5; ReLU activations; skips double the inputs)::

    CD512-CD512-CD512-C512-C256-C128-C64 -> Conv -> tanh

Every encoder layer ``i`` is concatenated with decoder layer ``n - i``. A
``unet_N`` generator has ``log2(N)`` downsamplings, so its bottleneck is 1x1
on an ``N x N`` input; it is fully convolutional and accepts any input whose
sides are multiples of ``2 ** num_downs``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_utils.models.init import init_weights
from course_utils.models.norm import conv_bias, norm_layer


class UnetBlock(nn.Module):
    """One level of the U-Net: down-convolution, the inner levels, up-convolution.

    The block maps ``(N, outer, H, W)`` to ``(N, 2*outer, H, W)`` by
    concatenating its input (the skip) with its output, except the outermost
    block, which maps ``(N, in_channels, H, W)`` to ``(N, out_channels, H, W)``
    in ``[-1, 1]`` (tanh) and has no skip.
    """

    def __init__(
        self,
        outer: int,
        inner: int,
        submodule: nn.Module | None = None,
        *,
        in_channels: int | None = None,
        out_channels: int | None = None,
        outermost: bool = False,
        norm: str = "batch",
        dropout: float = 0.0,
        skip: bool = True,
    ):
        super().__init__()
        self.outermost = outermost
        self.skip = skip
        in_channels = outer if in_channels is None else in_channels
        bias = conv_bias(norm)
        innermost = submodule is None

        down = [nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias)]
        if not outermost:
            down = [nn.LeakyReLU(0.2, inplace=True)] + down
            if not innermost:
                down.append(norm_layer(norm, inner))

        # The innermost block has no skip below it, so its up-conv sees `inner`
        # channels; every other up-conv sees the concatenation (2 * inner), unless
        # the skips are severed (the encoder-decoder of the paper's section 4.3).
        up_in = 2 * inner if skip and not innermost else inner
        if outermost:
            up = [
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(up_in, out_channels or outer, 4, stride=2, padding=1),
                nn.Tanh(),
            ]
        else:
            up = [
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias),
                norm_layer(norm, outer),
            ]
            if dropout > 0:
                up.append(nn.Dropout(dropout))

        self.down = nn.Sequential(*down)
        self.submodule = submodule if submodule is not None else nn.Identity()
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.submodule(self.down(x)))
        if self.outermost or not self.skip:
            return y
        return torch.cat([x, y], dim=1)


class UnetGenerator(nn.Module):
    """The Pix2Pix U-Net generator ``netG`` (paper appendix 6.1.1).

    Args:
        in_channels: channels of ``real_A`` (3 for RGB).
        out_channels: channels of ``fake_B`` (3 for RGB).
        num_downs: number of stride-2 downsamplings; 8 for ``unet_256``, 7 for
            ``unet_128``. Must be at least 5.
        ngf: filters of the first layer (64 in the paper).
        norm: ``"batch"`` (paper) or ``"instance"``.
        dropout: dropout probability in the three innermost decoder blocks
            (0.5 in the paper, which uses it as the generator's noise ``z``).
        skips: ``False`` severs every skip connection: the paper's
            "encoder-decoder" baseline of section 4.3 (same layers, each
            up-convolution sees only the level below, so fewer parameters).

    Shapes:
        input ``(N, in_channels, H, W)`` in ``[-1, 1]`` with ``H`` and ``W``
        multiples of ``2 ** num_downs``; output ``(N, out_channels, H, W)`` in
        ``[-1, 1]``.

    Raises:
        ValueError: if ``num_downs < 5`` or ``norm`` is unknown.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
        skips: bool = True,
    ):
        super().__init__()
        if num_downs < 5:
            raise ValueError(
                f"num_downs must be >= 5 (C64-C128-C256-C512 + bottleneck), got {num_downs}"
            )
        self.num_downs = num_downs
        # Innermost block, then the dropout blocks, then plain 8*ngf blocks,
        # then the widening blocks 4*ngf, 2*ngf, ngf, and the outermost block.
        block = UnetBlock(ngf * 8, ngf * 8, norm=norm, dropout=dropout, skip=skips)
        n_deep = num_downs - 4  # blocks whose outer width is 8*ngf, innermost included
        for i in range(1, n_deep):
            block = UnetBlock(ngf * 8, ngf * 8, block, norm=norm, dropout=dropout if i < 3 else 0.0,
                              skip=skips)
        for mult in (4, 2, 1):
            block = UnetBlock(ngf * mult, ngf * mult * 2, block, norm=norm, skip=skips)
        self.model = UnetBlock(
            ngf, ngf, block, in_channels=in_channels, out_channels=out_channels,
            outermost=True, norm=norm, skip=skips,
        )

    def forward(self, real_A: torch.Tensor) -> torch.Tensor:
        """Translate ``real_A`` ``(N, C_in, H, W)`` to ``fake_B`` ``(N, C_out, H, W)``, both in
        ``[-1, 1]``."""
        m = 2 ** self.num_downs
        h, w = real_A.shape[-2:]
        if h % m or w % m:
            raise ValueError(
                f"input of size {h}x{w} is not a multiple of 2**num_downs = {m}; "
                f"resize or pad it (e.g. to {math.ceil(h / m) * m}x{math.ceil(w / m) * m})"
            )
        return self.model(real_A)


def define_G(netG: str = "unet_256", in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
             norm: str = "batch", dropout: float = 0.5, init_gain: float = 0.02,
             skips: bool = True) -> UnetGenerator:
    """Build and initialise a U-Net generator by name.

    Args:
        netG: ``"unet_N"`` with ``N`` a power of two from 32 up, e.g.
            ``"unet_256"`` (8 downsamplings, the paper's) or ``"unet_128"`` (7).
        in_channels, out_channels, ngf, norm, dropout, skips: see :class:`UnetGenerator`.
        init_gain: standard deviation of the N(0, init_gain) initialisation.

    Returns:
        An initialised :class:`UnetGenerator`. ``define_G()`` with the
        defaults has 54,413,955 parameters.

    Raises:
        ValueError: for an unknown name.
    """
    if not netG.startswith("unet_") or not netG[5:].isdigit():
        raise ValueError(
            f"unknown generator {netG!r}; use 'unet_256', 'unet_128', 'unet_64' or 'unet_32'"
        )
    size = int(netG[5:])
    num_downs = int(round(math.log2(size))) if size > 0 else 0
    if 2 ** num_downs != size or num_downs < 5:
        raise ValueError(f"unknown generator {netG!r}: N in 'unet_N' must be a power of two >= 32")
    net = UnetGenerator(in_channels, out_channels, num_downs, ngf, norm, dropout, skips)
    return init_weights(net, init_gain)

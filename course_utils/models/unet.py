"""The original U-Net (Ronneberger, Fischer and Brox, MICCAI 2015), as taught in notebook 1.

Source: O. Ronneberger, P. Fischer, T. Brox, *U-Net: Convolutional Networks
for Biomedical Image Segmentation*, MICCAI 2015, section 2 and figure 1.

The convolutions are *unpadded* ("valid"), so every 3x3 convolution trims one
pixel from each border, and the skip connection must centre-crop the
contracting path's feature map before concatenating it. The output is
therefore smaller than the input. The paper's up-convolution is a 2x2
transposed convolution; here, as in the course, it is a x2 upsampling followed
by an unpadded 2x2 convolution, so each expanding step maps ``H`` to
``2H - 5`` and a 572x572 input gives 373x373 (the paper gets 388x388).
"""

from __future__ import annotations

import torch
from torch import nn


def crop(image: torch.Tensor, new_shape) -> torch.Tensor:
    """Centre-crop ``image`` ``(N, C, H, W)`` to the spatial size of ``new_shape``.

    Args:
        image: tensor of shape ``(N, C, H, W)``.
        new_shape: a shape whose last two entries ``(h, w)`` are the target
            size, e.g. another tensor's ``.shape``; ``h <= H`` and ``w <= W``.

    Returns:
        ``(N, C, h, w)``. When ``H - h`` is odd, the extra row is dropped from
        the bottom (the top offset is ``(H - h) // 2``); the same for columns.

    Raises:
        ValueError: if the target is larger than the image.
    """
    h, w = new_shape[-2], new_shape[-1]
    H, W = image.shape[-2], image.shape[-1]
    if h > H or w > W:
        raise ValueError(f"cannot crop {H}x{W} to the larger {h}x{w}")
    top, left = (H - h) // 2, (W - w) // 2
    return image[..., top : top + h, left : left + w]


class ContractingBlock(nn.Module):
    """Two unpadded 3x3 convolutions with ReLU, then 2x2 max-pooling (stride 2).

    ``(N, C, H, W)`` -> ``(N, 2C, (H - 4) // 2, (W - 4) // 2)``.
    :meth:`features` returns the pre-pooling map ``(N, 2C, H - 4, W - 4)``
    that the U-Net sends across its skip connection.
    """

    def __init__(self, in_channels: int, out_channels: int | None = None):
        super().__init__()
        out_channels = out_channels or 2 * in_channels
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3)
        self.activation = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The two convolutions without the pooling: ``(N, C, H, W)`` -> ``(N, 2C, H-4, W-4)``."""
        return self.activation(self.conv2(self.activation(self.conv1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool(self.features(x))


class ExpandingBlock(nn.Module):
    """Upsample x2, 2x2 "up-convolution" halving channels, concat the cropped skip, two 3x3 convs.

    ``forward(x, skip)``: ``x`` is ``(N, C, H, W)``; ``skip`` is
    ``(N, C/2, H_s, W_s)`` with ``H_s >= 2H - 1``. The output is
    ``(N, C/2, 2H - 5, 2W - 5)``: the upsampling gives ``2H``, the unpadded
    2x2 convolution ``2H - 1``, the two 3x3 convolutions ``2H - 5``.
    """

    def __init__(self, in_channels: int):
        super().__init__()
        out = in_channels // 2
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv1 = nn.Conv2d(in_channels, out, kernel_size=2)
        self.conv2 = nn.Conv2d(in_channels, out, kernel_size=3)
        self.conv3 = nn.Conv2d(out, out, kernel_size=3)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.upsample(x))
        x = torch.cat([x, crop(skip, x.shape)], dim=1)
        x = self.activation(self.conv2(x))
        return self.activation(self.conv3(x))


class FeatureMapBlock(nn.Module):
    """A 1x1 convolution mapping ``(N, C_in, H, W)`` to ``(N, C_out, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    """The U-Net of Ronneberger et al. (2015), figure 1, with configurable width and depth.

    Args:
        in_channels: input channels (1 for the EM stacks).
        out_channels: output channels, e.g. 1 logit per pixel for membranes.
        hidden_channels: width after the first 1x1 feature map; the first contracting
            block doubles it, so the default 32 with depth 4 gives the paper's widths 64,
            128, ..., 1024.
        depth: number of contracting/expanding pairs (4 in the paper).

    Shapes:
        ``(N, in_channels, H, W)`` -> ``(N, out_channels, H', W')`` of raw
        logits, with ``H' < H`` because the convolutions are unpadded; use
        :meth:`output_size` to find ``H'``. ``H`` must be such that every
        pooling sees an even size (572 for depth 4 gives 373; see the module docstring).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 32,
                 depth: int = 4):
        super().__init__()
        self.upfeature = FeatureMapBlock(in_channels, hidden_channels)
        self.contract = nn.ModuleList(
            ContractingBlock(hidden_channels * 2**i) for i in range(depth)
        )
        bottom = hidden_channels * 2**depth
        self.bottleneck = ContractingBlock(bottom)  # convolutions only, no pooling
        self.expand = nn.ModuleList(
            ExpandingBlock(hidden_channels * 2 ** (i + 1) * 2) for i in reversed(range(depth))
        )
        self.downfeature = FeatureMapBlock(hidden_channels * 2, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.upfeature(x)
        skips = []
        for block in self.contract:
            x = block.features(x)
            skips.append(x)
            x = block.maxpool(x)
        x = self.bottleneck.features(x)
        for block, skip in zip(self.expand, reversed(skips), strict=False):
            x = block(x, skip)
        return self.downfeature(x)

    def output_size(self, size: int) -> int:
        """Output side for an input side ``size``; raises ``ValueError`` if a pooling sees an odd
        size."""
        for _ in self.contract:
            size -= 4
            if size <= 0 or size % 2:
                raise ValueError("input size leads to an odd or empty size before a 2x2 pooling")
            size //= 2
        size -= 4
        for _ in self.expand:
            size = 2 * size - 5
        if size <= 0:
            raise ValueError("input too small for this depth")
        return size

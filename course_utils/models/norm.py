"""Normalisation layer choice shared by the generator and the discriminator."""

from __future__ import annotations

from torch import nn

NORMS = ("batch", "instance")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Return a 2-D normalisation layer.

    Args:
        kind: ``"batch"`` (the paper's BatchNorm) or ``"instance"``
            (InstanceNorm without affine parameters, as in pix2pix's option).
        channels: number of feature channels.

    Raises:
        ValueError: for any other ``kind``.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def conv_bias(kind: str) -> bool:
    """Whether a convolution followed by ``kind`` norm needs its own bias.

    BatchNorm has a learnt shift, so a bias before it is redundant; instance
    norm without affine parameters has none, so the convolution keeps its bias.
    """
    return kind != "batch"

"""Small helpers for every network: initialisation, parameter counts, freezing, unwrapping."""

from __future__ import annotations

from torch import nn


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Initialise ``net`` in place as in the Pix2Pix paper, section 3.3 / appendix 6.2.

    Convolution and transposed-convolution weights are drawn from
    N(0, ``gain``) with ``gain = 0.02``, their biases set to 0. BatchNorm
    scales are drawn from N(1, ``gain``) and their shifts set to 0.

    Returns:
        ``net`` itself, so that ``init_weights(UnetGenerator(...))`` chains.
    """
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters of ``net``."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def set_requires_grad(nets: nn.Module | list[nn.Module] | tuple[nn.Module, ...],
                      flag: bool) -> None:
    """Turn gradient tracking of every parameter of ``nets`` (one module or several) on or off.

    A training step freezes ``netD`` (``False``) while it back-propagates the generator's loss
    through it, so that only ``netG`` accumulates gradients, then unfreezes it.
    """
    for net in nets if isinstance(nets, (list, tuple)) else (nets,):
        for p in net.parameters():
            p.requires_grad_(flag)


def unwrap(net: nn.Module, compiled: bool = True) -> nn.Module:
    """The plain module behind a ``DistributedDataParallel`` wrapper (``.module``) and, with
    ``compiled=True``, behind a ``torch.compile`` wrapper (``._orig_mod``)."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(net, DistributedDataParallel):
        net = net.module
    return getattr(net, "_orig_mod", net) if compiled else net

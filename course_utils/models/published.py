"""Generators published by the pix2pix authors, mapped onto the course's layout.

The authors' PyTorch code (pytorch-CycleGAN-and-pix2pix, Zhu, Park and Isola)
saves a generator as a ``state_dict`` whose key names follow how its modules
are nested. The layers and shapes are those of the papers, so the same weights
fit the course's networks once the names are translated:

- ``unet_N`` (Isola et al. 2017, appendix 6.1.1) is built there as nested
  blocks, each an ``nn.Sequential`` named ``model``. The outermost block holds
  ``[down-conv, inner block, ReLU, up-conv, tanh]``; a middle block
  ``[LeakyReLU, down-conv, norm, inner block, ReLU, up-conv, norm(, dropout)]``;
  the innermost ``[LeakyReLU, down-conv, ReLU, up-conv, norm]``. The course's
  :class:`~course_utils.models.generator.UnetBlock` keeps the same layers in
  ``down``, ``submodule`` and ``up``.
- ``resnet_Kblocks`` (Johnson et al. 2016, as in CycleGAN's appendix 7.2,
  instance norm) is one flat ``nn.Sequential`` there:
  ``[pad, c7s1-64, norm, ReLU, d128, norm, ReLU, d256, norm, ReLU, K residual blocks,
  u128, norm, ReLU, u64, norm, ReLU, pad, c7s1-3, tanh]``, each residual block
  ``[pad, conv, norm, ReLU(, dropout), pad, conv, norm]``. The course's
  :class:`~course_utils.models.pix2pixhd.GlobalGenerator` with 2 downsamplings
  has the same layers in ``body`` and ``head``.

In eval mode the converted generator computes exactly what the original does.
One difference shows only with dropout at test time (``--mode train``): the
course puts dropout on the paper's three innermost decoder layers, the
authors' code on the three blocks above the innermost one.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from course_utils.errors import CheckpointError

PUBLISHED_NETG = ("unet_256", "unet_128", "resnet_9blocks")


def _unet_pairs(netG: nn.Module) -> list[tuple[str, str]]:
    """``(course prefix, published prefix)`` for every layer with weights of a course U-Net."""
    pairs = [("model.down.0", "model.model.0"), ("model.up.1", "model.model.3")]
    ours, theirs = "model.submodule", "model.model.1"
    block = netG.model.submodule
    while True:
        innermost = isinstance(block.submodule, nn.Identity)
        if innermost:
            pairs += [(f"{ours}.down.1", f"{theirs}.model.1"),
                      (f"{ours}.up.1", f"{theirs}.model.3"),
                      (f"{ours}.up.2", f"{theirs}.model.4")]
            return pairs
        pairs += [(f"{ours}.down.1", f"{theirs}.model.1"), (f"{ours}.down.2", f"{theirs}.model.2"),
                  (f"{ours}.up.1", f"{theirs}.model.5"), (f"{ours}.up.2", f"{theirs}.model.6")]
        ours, theirs, block = f"{ours}.submodule", f"{theirs}.model.3", block.submodule


def _resnet_pairs(n_blocks: int, dropout: bool) -> list[tuple[str, str]]:
    """The same for the ResNet generator (2 downsamplings); ``dropout``: the published blocks have
    one."""
    second = 6 if dropout else 5  # a dropout layer shifts the second conv of each residual block
    pairs = [("body.1", "model.1"), ("body.4", "model.4"), ("body.7", "model.7")]
    for i in range(n_blocks):
        pairs += [(f"body.{10 + i}.block.1", f"model.{10 + i}.conv_block.1"),
                  (f"body.{10 + i}.block.5", f"model.{10 + i}.conv_block.{second}")]
    up = 10 + n_blocks
    pairs += [(f"body.{up}", f"model.{up}"), (f"body.{up + 3}", f"model.{up + 3}"),
              ("head.1", f"model.{up + 7}")]
    return pairs


def convert_published(state: dict, netG_name: str, netG: nn.Module,
                      source: str = "the file") -> dict:
    """Translate a published generator ``state_dict`` into ``netG``'s own.

    Args:
        state: the authors' ``state_dict`` (e.g. ``torch.load("latest_net_G.pth")``);
            a ``module.`` prefix (saved from ``DataParallel``) is dropped.
        netG_name: ``"unet_256"``, ``"unet_128"`` or ``"resnet_9blocks"``.
        netG: the course generator it goes into (its layers decide the shapes).
        source: the file's name, for error messages.

    Returns:
        A ``state_dict`` for ``netG.load_state_dict`` (BatchNorm's
        ``num_batches_tracked`` filled in when the file predates it).

    Raises:
        CheckpointError: when a layer is missing or has another shape than
            ``netG_name`` needs (the message names the first such key), or when
            the file has keys that ``netG_name`` does not use.
    """
    state = {re.sub(r"^module\.", "", k): v for k, v in state.items()}
    if netG_name.startswith("unet_"):
        pairs = _unet_pairs(netG)
    else:
        n_blocks = int(netG_name[len("resnet_"):-len("blocks")])
        pairs = _resnet_pairs(n_blocks, dropout="model.10.conv_block.6.weight" in state)
    prefix_of = dict(pairs)
    ours = netG.state_dict()
    out, used = {}, set()
    for key, target in ours.items():
        layer, _, leaf = key.rpartition(".")
        theirs = f"{prefix_of[layer]}.{leaf}"
        if theirs not in state:
            if leaf == "num_batches_tracked":
                out[key] = torch.zeros_like(target)
                continue
            raise CheckpointError(
                f"{source} does not fit --netG {netG_name}: it has no {theirs!r} "
                f"(needed for {key}); check --netG (published: unet_256 for pix2pix, "
                f"resnet_9blocks for CycleGAN)"
            )
        value = state[theirs]
        if not isinstance(value, torch.Tensor) or value.shape != target.shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise CheckpointError(
                f"{source} does not fit --netG {netG_name}: {theirs} has shape {shape}, "
                f"{netG_name} needs {tuple(target.shape)}; check --netG and --ngf"
            )
        out[key] = value.to(target.dtype)
        used.add(theirs)
    extra = sorted(set(state) - used - {k for k in state if k.endswith("num_batches_tracked")})
    if extra:
        raise CheckpointError(
            f"{source} does not fit --netG {netG_name}: {len(extra)} key(s) it does not use, "
            f"e.g. {extra[0]!r}; check --netG (and that the file is a generator, not a "
            f"discriminator)"
        )
    return out

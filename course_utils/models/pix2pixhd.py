"""Pix2PixHD: the coarse-to-fine generator, the multi-scale discriminator and their losses.

Source: Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation
with Conditional GANs", CVPR 2018 (section 3.2, equations 2-4, and the
appendix's architecture tables). The course names follow Pix2Pix: ``real_A``
is the input (the condition, the paper's ``s``), ``real_B`` the target
(``x``), ``fake_B = netG(real_A)``.

- :class:`GlobalGenerator` ``G1``: ``c7s1-64, d128, d256, d512, d1024,
  R1024 x 9, u512, u256, u128, u64, c7s1-3`` (section 3.2, "Coarse-to-fine
  generator"): 7x7 convolution with reflection padding, strided 3x3
  downsampling, residual blocks, transposed-convolution upsampling, instance
  norm, tanh output. It works at half the output resolution.
- :class:`LocalEnhancer` ``G2``: ``c7s1-32, d64`` on the full-resolution
  input; its feature map is **added** to ``G1``'s last feature map (computed
  on the input downsampled by 2), then ``R64 x 3, u32, c7s1-3``.
- :class:`MultiscaleDiscriminator`: three PatchGANs of the same architecture
  on the pair at scales 1, 1/2 and 1/4 (3x3 average pooling, stride 2), each
  returning its intermediate features (section 3.2, "Multi-scale
  discriminators").
- :func:`lsgan_loss`: the least-squares GAN objective (Mao et al. 2017), which
  the paper's code uses for equation 2.
- :func:`feature_matching_loss`: equation 4, with the real features as
  targets (detached).
- :class:`VGGLoss`: the perceptual loss of section 3.2 (equation 5's
  ``lambda * L_VGG`` term), on VGG19 features; it needs pretrained weights.
- :func:`instance_edges`: the instance boundary map of section 3.3.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.errors import CourseError
from course_utils.models.init import init_weights
from course_utils.models.vgg import (  # noqa: F401 - vgg19_weights_* re-exported for the notebooks
    FrozenVGG19,
    vgg19_weights_available,
    vgg19_weights_path,
)

# --------------------------------------------------------------------------- generators


def _norm(channels: int) -> nn.Module:
    """Instance norm without affine parameters, as in the paper's code (``--norm instance``)."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """``x + [reflect-pad, conv3x3, IN, ReLU, reflect-pad, conv3x3, IN](x)``; keeps
    ``(N, C, H, W)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class GlobalGenerator(nn.Module):
    """The global generator ``G1`` (Wang et al. 2018, section 3.2 and appendix).

    Args:
        in_channels, out_channels: image channels (3 and 3 for RGB to RGB).
        ngf: channels of the first layer (64 in the paper); the ``i``-th
            downsampling doubles them.
        n_downsample: stride-2 convolutions (4 in the paper).
        n_blocks: residual blocks at the bottleneck (9 in the paper).

    Shapes:
        ``forward(x)``: ``(N, in_channels, H, W)`` in ``[-1, 1]`` to
        ``(N, out_channels, H, W)`` in ``[-1, 1]`` (tanh); ``H`` and ``W``
        must be multiples of ``2 ** n_downsample``. ``features(x)`` is the last
        feature map before the output layer, ``(N, ngf, H, W)``, which the
        local enhancer adds to its own.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                 n_downsample: int = 4, n_blocks: int = 9):
        super().__init__()
        self.ngf, self.num_downs = ngf, n_downsample
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7),
                                   _norm(ngf), nn.ReLU(True)]
        for i in range(n_downsample):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), _norm(2 * c), nn.ReLU(True)]
        c = ngf * 2**n_downsample
        layers += [ResnetBlock(c) for _ in range(n_blocks)]
        for i in range(n_downsample):
            c = ngf * 2 ** (n_downsample - i)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(c // 2), nn.ReLU(True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh())

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``G1``'s last feature map, ``(N, ngf, H, W)`` (everything but the ``c7s1-3`` output
        layer)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Halve ``(N, C, H, W)`` with 3x3 average pooling, stride 2, padding 1 (padding not counted).

    The downsampling of the paper's code, used both before ``G1`` in the
    local enhancer and between the discriminator scales. ``H = 512`` gives 256.
    """
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


class LocalEnhancer(nn.Module):
    """The full coarse-to-fine generator: the local enhancer ``G2`` around ``G1`` (section 3.2).

    ``G2``'s front end (``c7s1-ngf_local, d(2 ngf_local)``) turns the
    full-resolution input into a feature map at half resolution. ``G1`` runs on
    the input downsampled by 2 (:func:`downsample`) and its last feature map
    (:meth:`GlobalGenerator.features`, ``ngf_global`` channels) is **added**
    element-wise to ``G2``'s; ``G2``'s residual blocks and upsampling back end
    (``R x n_blocks_local, u ngf_local, c7s1-3``) then produce the output.
    ``G1``'s own output layer is not used here (it is used when ``G1`` is
    trained alone, :meth:`forward_global`).

    Args:
        ngf_global: ``G1``'s first-layer width (64 in the paper); its last
            feature map has this many channels.
        ngf_local: ``G2``'s first-layer width (32 in the paper). The fusion
            needs ``ngf_global == 2 * ngf_local``.
        n_downsample_global, n_blocks_global: ``G1``'s depth (4, 9).
        n_blocks_local: ``G2``'s residual blocks (3).

    Shapes:
        ``forward(real_A)``: ``(N, 3, H, W)`` in ``[-1, 1]`` to ``(N, 3, H, W)``
        in ``[-1, 1]``; ``H`` and ``W`` multiples of ``2 ** num_downs`` with
        ``num_downs = n_downsample_global + 1`` (32 for the paper's network).

    Raises:
        CourseError: if ``ngf_global != 2 * ngf_local`` (the two maps cannot be added).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf_global: int = 64,
                 ngf_local: int = 32, n_downsample_global: int = 4, n_blocks_global: int = 9,
                 n_blocks_local: int = 3):
        super().__init__()
        if ngf_global != 2 * ngf_local:
            raise CourseError(
                f"the local enhancer adds G1's last feature map ({ngf_global} channels) to G2's "
                f"({2 * ngf_local} channels): use ngf_global = 2 * ngf_local (e.g. 64 and 32)"
            )
        self.num_downs = n_downsample_global + 1
        self.global_net = GlobalGenerator(in_channels, out_channels, ngf_global,
                                          n_downsample_global, n_blocks_global)
        c = 2 * ngf_local
        self.front = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf_local, 7), _norm(ngf_local),
            nn.ReLU(True),
            nn.Conv2d(ngf_local, c, 3, stride=2, padding=1), _norm(c), nn.ReLU(True),
        )
        self.back = nn.Sequential(
            *[ResnetBlock(c) for _ in range(n_blocks_local)],
            nn.ConvTranspose2d(c, ngf_local, 3, stride=2, padding=1, output_padding=1),
            _norm(ngf_local), nn.ReLU(True),
            nn.ReflectionPad2d(3), nn.Conv2d(ngf_local, out_channels, 7), nn.Tanh(),
        )

    def forward(self, real_A: torch.Tensor, stage: str = "joint") -> torch.Tensor:
        """``fake_B`` for ``real_A`` ``(N, 3, H, W)``.

        ``stage`` (the coarse-to-fine schedule, :mod:`course_utils.training.recipes.pix2pixhd`):
        ``"joint"`` (default, and at test time) the full generator;
        ``"local-frozen-global"`` the same output with ``G1``'s features detached
        (no gradient reaches ``G1``); ``"global"`` ``G1`` alone with its own
        output layer, ``real_A`` then being the half-resolution input.
        """
        if stage == "global":
            return self.global_net(real_A)
        g1 = self.global_net.features(downsample(real_A))
        if stage == "local-frozen-global":
            g1 = g1.detach()
        return self.back(self.front(real_A) + g1)

    def forward_global(self, real_A_half: torch.Tensor) -> torch.Tensor:
        """``G1`` alone with its own output layer, on a half-resolution input (coarse-to-fine
        stage 1)."""
        return self.global_net(real_A_half)


def define_G_hd(in_channels: int = 3, out_channels: int = 3, ngf_global: int = 64,
                ngf_local: int = 32, n_downsample_global: int = 4, n_blocks_global: int = 9,
                n_blocks_local: int = 3, init_gain: float = 0.02) -> LocalEnhancer:
    """Build the coarse-to-fine generator (:class:`LocalEnhancer`), weights N(0, 0.02) as in the
    paper's code."""
    net = LocalEnhancer(in_channels, out_channels, ngf_global, ngf_local, n_downsample_global,
                        n_blocks_global, n_blocks_local)
    return init_weights(net, init_gain)


# --------------------------------------------------------------------------- discriminators


class PatchDiscriminator(nn.Module):
    """One conditional PatchGAN of the multi-scale discriminator, returning every block's output.

    ``C64-C128-C256-C512`` for ``n_layers=3`` (4x4 convolutions, stride 2 but
    the last, padding 1, instance norm but on the first, LeakyReLU 0.2), then a
    4x4 stride-1 convolution to one channel: the architecture of notebook 2's
    PatchGAN, with instance norm. No sigmoid: LSGAN scores the raw outputs.

    Shapes:
        ``forward(real_A, B)``: two ``(N, 3, H, W)`` tensors to a list of
        ``n_layers + 2`` tensors: the ``n_layers + 1`` intermediate feature
        maps (after each LeakyReLU), then the ``(N, 1, H', W')`` patch scores
        (``H' = 62`` for ``H = 512`` and ``n_layers=3``).
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        blocks = [nn.Sequential(nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1),
                                nn.LeakyReLU(0.2, True))]
        mult = 1
        for i in range(1, n_layers + 1):
            prev, mult = mult, min(2**i, 8)
            stride = 2 if i < n_layers else 1
            blocks.append(nn.Sequential(
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1), _norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ))
        blocks.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, real_A: torch.Tensor, B: torch.Tensor) -> list[torch.Tensor]:
        h = torch.cat([real_A, B], dim=1)
        outs = []
        for block in self.blocks:
            h = block(h)
            outs.append(h)
        return outs


class MultiscaleDiscriminator(nn.Module):
    """``num_D`` PatchGANs of the same architecture on the pair at scales 1, 1/2, 1/4, ...
    (section 3.2).

    ``D1`` sees the pair at full resolution; before each next discriminator,
    both images are downsampled by 2 with :func:`downsample` (3x3 average
    pooling, stride 2). The coarsest one has the largest receptive field
    (global consistency), the finest one sees details.

    Shapes:
        ``forward(real_A, B)``: two ``(N, 3, H, W)`` tensors in ``[-1, 1]`` to
        a list of ``num_D`` lists (scale 1 first), each as
        :meth:`PatchDiscriminator.forward`: intermediate features, then the
        patch scores as the last element.
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, num_D: int = 3):
        super().__init__()
        if num_D < 1:
            raise CourseError(f"num_D must be at least 1, got {num_D}")
        self.nets = nn.ModuleList(PatchDiscriminator(in_channels, ndf, n_layers)
                                  for _ in range(num_D))

    def forward(self, real_A: torch.Tensor, B: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for k, net in enumerate(self.nets):
            if k > 0:
                real_A, B = downsample(real_A), downsample(B)
            results.append(net(real_A, B))
        return results


def define_D_hd(in_channels: int = 6, ndf: int = 64, n_layers: int = 3, num_D: int = 3,
                init_gain: float = 0.02) -> MultiscaleDiscriminator:
    """Build the multi-scale discriminator, weights N(0, 0.02)."""
    return init_weights(MultiscaleDiscriminator(in_channels, ndf, n_layers, num_D), init_gain)


# --------------------------------------------------------------------------- losses


# --------------------------------------------------------------------------- VGG perceptual loss


# --------------------------------------------------------------------------- instance boundaries


def instance_edges(instance_map: torch.Tensor) -> torch.Tensor:
    """The instance boundary map of section 3.3: 1 where a pixel's instance id differs from a
    4-neighbour's.

    The paper feeds this map to ``netG`` and ``netD`` with the one-hot label
    map, so that two touching objects of the same class (two cars) stay
    apart. Our maps data has no instance labels (the Google Maps tiles come
    as images only), so the course's models do not use it.

    Worked example (ids of a 3x4 map; two instances of the same class, 1 and 2)::

        ids = [[0, 0, 1, 1],        edges = [[0, 1, 1, 1],
               [0, 0, 1, 2],   ->            [0, 1, 1, 1],
               [0, 0, 2, 2]]                 [0, 1, 1, 0]]

    Both pixels on each side of a boundary are marked, as in the paper's code.

    Args:
        instance_map: integer ids, ``(N, 1, H, W)`` (or ``(H, W)``).

    Returns:
        A float tensor of the same shape with values in ``{0, 1}``.

    Raises:
        CourseError: for a floating-point map (ids must be integers) or a wrong number of
            dimensions.
    """
    if instance_map.is_floating_point():
        raise CourseError(f"instance_edges: instance ids must be integers, "
                          f"got {instance_map.dtype}; pass e.g. ids.long()")
    if instance_map.dim() not in (2, 4):
        raise CourseError(f"instance_edges: expected (N, 1, H, W) or (H, W), "
                          f"got shape {tuple(instance_map.shape)}")
    t = instance_map
    edge = torch.zeros_like(t, dtype=torch.bool)
    dx = t[..., :, 1:] != t[..., :, :-1]
    dy = t[..., 1:, :] != t[..., :-1, :]
    edge[..., :, 1:] |= dx
    edge[..., :, :-1] |= dx
    edge[..., 1:, :] |= dy
    edge[..., :-1, :] |= dy
    return edge.float()


__all__ = [
    "GlobalGenerator",
    "LocalEnhancer",
    "MultiscaleDiscriminator",
    "PatchDiscriminator",
    "ResnetBlock",
    "define_D_hd",
    "define_G_hd",
    "downsample",
    "instance_edges",
    "vgg19_weights_available",
    "vgg19_weights_path",
]

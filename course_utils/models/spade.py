"""GauGAN: SPADE normalisation, the SPADE generator, its VAE style encoder, and the hinge losses.

Source: Park, Liu, Wang and Zhu, "Semantic Image Synthesis with Spatially-Adaptive
Normalization", CVPR 2019 (section 3, figures 2-4, appendix A), and the authors'
code (NVlabs/SPADE), whose design choices are noted where they differ from the
text. Course names follow Pix2Pix: ``real_A`` is the input label map, ``real_B``
the photo, ``fake_B = netG(real_A)``.

- :class:`SPADE` (paper equation 1): a parameter-free BatchNorm, then
  ``(1 + gamma(m)) * x_hat + beta(m)`` with ``gamma`` and ``beta`` predicted per
  pixel from the label map ``m`` (resized to the feature's size, nearest) by a
  shared 3x3 convolution + ReLU and two 3x3 convolutions. The paper writes
  ``gamma * x_hat + beta``; the official code uses ``1 + gamma`` so that a
  freshly initialised layer (gamma near 0) starts as plain normalisation.
- :class:`SPADEResnetBlock` (figure 4, right): two SPADE-ReLU-conv3x3 steps, and
  a learned shortcut (SPADE, conv1x1 without bias) when the channel count
  changes; spectral norm on the convolutions (appendix A). The activation is
  LeakyReLU 0.2 as in the official code (the figure says ReLU).
- :class:`SPADEGenerator` (figure 4, left; appendix figure 12): no encoder. It
  starts from the label map downsampled to ``H / 2**n_up`` through a 3x3
  convolution (or, with the VAE, from a noise vector ``z`` through a linear
  layer), then SPADE ResBlks and nearest-neighbour upsampling by 2, then
  LeakyReLU, a 3x3 convolution to RGB and tanh. Every block sees the label map.
- :class:`ConvEncoder` (appendix figure 14): the optional VAE style encoder,
  ``mu`` and ``log sigma^2`` of ``z`` from a photo; :func:`kl_divergence` is the
  KL term (weight ``lambda_KLD = 0.05``).
- :func:`define_D_spade`: Pix2PixHD's multi-scale PatchGAN
  (:class:`course_utils.models.pix2pixhd.MultiscaleDiscriminator`) on the
  one-hot label map and the photo, with spectral norm on its normalised layers.
- :func:`hinge_d_loss`, :func:`hinge_g_loss`: the hinge adversarial loss
  (Lim and Ye 2017; paper section 4), averaged over the discriminator's scales
  as in the official code.
- :class:`LabelEncoder`: RGB label maps (the facades JPEGs, ``[-1, 1]``) to
  one-hot class maps, snapping each pixel to the nearest class colour
  (:mod:`course_utils.evaluation.palette`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.errors import CourseError
from course_utils.models.pix2pixhd import MultiscaleDiscriminator


def init_spade(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Initialise as the official code (``--init_type xavier --init_variance 0.02``), in place;
    returns ``net``.

    Convolution and linear weights (the original weight under spectral norm): Xavier
    normal with gain 0.02, biases 0; affine norm scales N(1, 0.02), shifts 0.
    Parameter-free norms have nothing to initialise.
    """
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.xavier_normal_(w, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral norm (Miyato et al. 2018): the weight divided by its largest singular value.

    ``torch.nn.utils.parametrizations.spectral_norm``: the parameter is
    ``parametrizations.weight.original``; one power iteration updates the
    singular-vector estimates (buffers ``_u``, ``_v``) at each training-mode
    forward pass.
    """
    return nn.utils.parametrizations.spectral_norm(module)


# --------------------------------------------------------------------------- label maps


class LabelEncoder(nn.Module):
    """RGB label maps in ``[-1, 1]`` to one-hot class maps: each pixel snaps to its nearest class
    colour.

    Args:
        colours: ``(K, 3)`` RGB class colours in ``[0, 255]`` (e.g.
            :data:`course_utils.evaluation.palette.FACADES_COLOURS`).
        far_distance, max_far_fraction: an image with more than ``max_far_fraction``
            of its pixels farther than ``far_distance`` (0-255 RGB units) from
            every colour raises (see :func:`course_utils.evaluation.palette.snap_label_map`).

    Shapes:
        ``(N, 3, H, W)`` in ``[-1, 1]`` to ``(N, K, H, W)`` float, one 1 per
        pixel. An input that already has ``K`` channels is taken as one-hot and
        returned unchanged.

    Raises:
        CourseError: for another channel count, or an image that is mostly far
            from the palette (a photo given as labels).
    """

    def __init__(self, colours, far_distance: float = 100.0, max_far_fraction: float = 0.3):
        super().__init__()
        colours = torch.as_tensor(colours, dtype=torch.float32).reshape(-1, 3)
        self.register_buffer("colours", colours / 127.5 - 1.0, persistent=False)
        self.far = 2.0 * far_distance / 255.0  # the same distance on the [-1, 1] scale
        self.max_far_fraction = max_far_fraction

    @property
    def num_classes(self) -> int:
        return self.colours.shape[0]

    def forward(self, real_A: torch.Tensor) -> torch.Tensor:
        k = self.num_classes
        if real_A.dim() != 4 or real_A.shape[1] not in (3, k):
            raise CourseError(f"label map: expected (N, 3, H, W) RGB in [-1, 1] or (N, {k}, H, W) "
                              f"one-hot, got shape {tuple(real_A.shape)}")
        if real_A.shape[1] == k and k != 3:
            return real_A
        x = real_A.float()
        d = ((x[:, None] - self.colours[None, :, :, None, None]) ** 2).sum(2)  # (N, K, H, W)
        dmin, idx = d.min(1)
        far = (dmin > self.far**2).flatten(1).float().mean(1)
        if bool((far > self.max_far_fraction).any()):
            i = int(far.argmax())
            raise CourseError(
                f"label map {i} of the batch: {float(far[i]):.0%} of its pixels are far from every "
                f"class colour; it does not look like a label map of this data set (for facades "
                f"pass the label half: direction BtoA)"
            )
        return F.one_hot(idx, k).permute(0, 3, 1, 2).to(real_A.dtype)


# --------------------------------------------------------------------------- SPADE


class SPADE(nn.Module):
    """Spatially-adaptive denormalisation (paper section 3, equation 1, in the official
    ``1 + gamma`` form).

    ``out = BN(x) * (1 + gamma) + beta`` with ``BN`` a BatchNorm without
    learnable affine parameters (running statistics kept for eval mode) and
    ``gamma, beta = conv3x3(h), conv3x3(h)``, ``h = ReLU(conv3x3(m))``, where
    ``m`` is the label map resized to ``x``'s height and width with nearest
    interpolation (so classes never blend).

    Args:
        norm_nc: channels ``C`` of ``x``.
        label_nc: channels of the label map (one-hot classes).
        hidden: channels of the shared layer (128 in the paper).

    Shapes:
        ``forward(x, segmap)``: ``x`` ``(N, C, H, W)``, ``segmap`` ``(N, label_nc, H', W')``
        (any size) to ``(N, C, H, W)``.
    """

    def __init__(self, norm_nc: int, label_nc: int, hidden: int = 128):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, 3, padding=1)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(segmap)
        gamma, beta = self.mlp_gamma(actv), self.mlp_beta(actv)
        return normalized * (1 + gamma) + beta


class SPADEResnetBlock(nn.Module):
    """The SPADE residual block (paper figure 4, right; official ``SPADEResnetBlock``).

    ``dx = conv_1(act(norm_1(conv_0(act(norm_0(x, m))), m)))`` with ``act``
    LeakyReLU 0.2 and ``conv_0: fin -> min(fin, fout)``,
    ``conv_1: min(fin, fout) -> fout`` (3x3). The shortcut is ``x`` itself when
    ``fin == fout``, otherwise the learned ``conv_s(norm_s(x, m))`` (1x1, no
    bias, no activation). Output ``shortcut + dx``. With ``spectral=True`` the
    three convolutions carry spectral norm.

    Shapes:
        ``forward(x, segmap)``: ``(N, fin, H, W)`` to ``(N, fout, H, W)``.
    """

    def __init__(self, fin: int, fout: int, label_nc: int, hidden: int = 128,
                 spectral: bool = True):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        sn = spectral_norm if spectral else (lambda m: m)
        self.conv_0 = sn(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = sn(nn.Conv2d(fmiddle, fout, 3, padding=1))
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, 1, bias=False))
        self.norm_0 = SPADE(fin, label_nc, hidden)
        self.norm_1 = SPADE(fmiddle, label_nc, hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_nc, hidden)

    def shortcut(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        return self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        x_s = self.shortcut(x, segmap)
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return x_s + dx


# --------------------------------------------------------------------------- VAE style encoder


class ConvEncoder(nn.Module):
    """The VAE style encoder (appendix figure 14): a photo to the mean and log-variance of ``z``.

    ``n_layers`` 3x3 convolutions of stride 2 (``nef, 2 nef, 4 nef, 8 nef, 8 nef, ...``),
    instance norm and LeakyReLU 0.2, spectral norm; then (our choice, so that any
    input size works) adaptive average pooling to 4x4 (the paper reaches 4x4 from
    256 with six convolutions); then two linear layers to ``mu`` and ``logvar``.

    Shapes:
        ``(N, 3, H, W)`` in ``[-1, 1]`` to ``(mu, logvar)``, each ``(N, z_dim)``.
    """

    def __init__(self, in_channels: int = 3, nef: int = 64, n_layers: int = 6, z_dim: int = 256):
        super().__init__()
        layers, ch = [], in_channels
        for i in range(n_layers):
            out = nef * min(2**i, 8)
            layers += [spectral_norm(nn.Conv2d(ch, out, 3, stride=2, padding=1)),
                       nn.InstanceNorm2d(out, affine=True), nn.LeakyReLU(0.2)]
            ch = out
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4))
        self.fc_mu = nn.Linear(ch * 16, z_dim)
        self.fc_var = nn.Linear(ch * 16, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x).flatten(1)
        return self.fc_mu(h), self.fc_var(h)


# --------------------------------------------------------------------------- generator


class SPADEGenerator(nn.Module):
    """The SPADE generator ``netG`` (paper figure 4 and appendix figure 12), sized by ``ngf`` and
    ``n_up``.

    Channels at level ``i = 0..n_up`` (coarse to fine): ``ngf * min(max_mult, 2**(n_up - i))``;
    ``n_up=5, ngf=64`` gives the paper's ``1024, 1024, 512, 256, 128, 64`` (the
    official code has one more 1024-channel block at the second level).

    1. The start, at ``(H / 2**n_up, W / 2**n_up)``: the one-hot label map
       downsampled (nearest) through a 3x3 convolution to ``ch_0`` channels; with
       ``use_vae``, instead, ``z`` through a linear layer (``z`` from
       :class:`ConvEncoder` on a style photo, or ``N(0, I)`` without one).
    2. ``head``: SPADE ResBlk ``ch_0 -> ch_0``; then for each level, upsample x2
       (nearest) and a SPADE ResBlk ``ch_i -> ch_{i+1}``.
    3. LeakyReLU 0.2, conv3x3 to ``out_channels``, tanh.

    Args:
        colours: ``(K, 3)`` class colours (0-255) for the :class:`LabelEncoder`.
        crop_size: needed with ``use_vae`` only (the linear layer's output size);
            the VAE generator then runs at ``crop_size x crop_size`` only.

    Shapes:
        ``forward(real_A, z=None, style=None, return_stats=False)``: ``real_A``
        ``(N, 3, H, W)`` RGB label map in ``[-1, 1]`` (or ``(N, K, H, W)`` one-hot),
        ``H, W`` multiples of ``2**n_up``, to ``fake_B`` ``(N, out_channels, H, W)`` in
        ``[-1, 1]``; with ``return_stats`` also ``(mu, logvar)`` (``None`` without a style).
    """

    def __init__(self, colours, out_channels: int = 3, ngf: int = 64, n_up: int = 5,
                 max_mult: int = 16, hidden: int = 128, spectral: bool = True,
                 use_vae: bool = False, z_dim: int = 256, nef: int = 64, n_layers_E: int = 6,
                 crop_size: int = 256):
        super().__init__()
        if n_up < 1:
            raise CourseError(f"n_up must be at least 1, got {n_up}")
        self.labels = LabelEncoder(colours)
        label_nc = self.labels.num_classes
        self.n_up, self.use_vae, self.z_dim = n_up, use_vae, z_dim
        ch = [ngf * min(max_mult, 2 ** (n_up - i)) for i in range(n_up + 1)]
        if use_vae:
            if crop_size % 2**n_up:
                raise CourseError(
                    f"crop_size {crop_size} must be a multiple of 2**n_up = {2**n_up}"
                )
            self.s0 = crop_size // 2**n_up
            self.fc = nn.Linear(z_dim, ch[0] * self.s0 * self.s0)
            self.encoder = ConvEncoder(out_channels, nef, n_layers_E, z_dim)
        else:
            self.fc = nn.Conv2d(label_nc, ch[0], 3, padding=1)
        self.head = SPADEResnetBlock(ch[0], ch[0], label_nc, hidden, spectral)
        self.ups = nn.ModuleList(SPADEResnetBlock(ch[i], ch[i + 1], label_nc, hidden, spectral)
                                 for i in range(n_up))
        self.conv_img = nn.Conv2d(ch[-1], out_channels, 3, padding=1)

    def encode(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of the style photo ``(N, 3, H, W)``; needs ``use_vae``."""
        if not self.use_vae:
            raise CourseError("this generator has no style encoder (train with --use-vae)")
        return self.encoder(style)

    def forward(self, real_A: torch.Tensor, z: torch.Tensor | None = None,
                style: torch.Tensor | None = None, return_stats: bool = False):
        seg = self.labels(real_A)
        n, _, h, w = seg.shape
        m = 2**self.n_up
        if h % m or w % m:
            raise CourseError(f"SPADE generator: the label map is {h}x{w}; height and width must "
                              f"be multiples of 2**n_up = {m}")
        mu = logvar = None
        if self.use_vae:
            if (h, w) != (self.s0 * m, self.s0 * m):
                raise CourseError(f"SPADE generator with VAE: inputs must be "
                                  f"{self.s0 * m}x{self.s0 * m}, got {h}x{w}")
            if style is not None:
                mu, logvar = self.encoder(style)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            elif z is None:
                z = torch.randn(n, self.z_dim, device=seg.device, dtype=seg.dtype)
            x = self.fc(z).view(n, -1, self.s0, self.s0)
        else:
            x = self.fc(F.interpolate(seg, size=(h // m, w // m), mode="nearest"))
        x = self.head(x, seg)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), seg)
        fake_B = torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))
        return (fake_B, mu, logvar) if return_stats else fake_B


def define_G_spade(colours, out_channels: int = 3, ngf: int = 64, n_up: int = 5, hidden: int = 128,
                   use_vae: bool = False, z_dim: int = 256, nef: int = 64, n_layers_E: int = 6,
                   crop_size: int = 256, init_gain: float = 0.02) -> SPADEGenerator:
    """Build the SPADE generator, initialised by :func:`init_spade`."""
    return init_spade(SPADEGenerator(colours, out_channels, ngf, n_up, hidden=hidden,
                                     use_vae=use_vae, z_dim=z_dim, nef=nef, n_layers_E=n_layers_E,
                                     crop_size=crop_size),
                      init_gain)


# ------------------------------------------------------------------------ discriminator and losses


def define_D_spade(in_channels: int, ndf: int = 64, n_layers: int = 4, num_D: int = 2,
                   spectral: bool = True, init_gain: float = 0.02) -> MultiscaleDiscriminator:
    """The multi-scale PatchGAN of Pix2PixHD, with spectral norm on its normalised (middle)
    convolutions.

    SPADE's official discriminator: ``num_D = 2`` scales, ``n_layers = 4``,
    ``spectralinstance`` norm in the middle layers; the first and last
    convolutions are plain. ``in_channels`` = label classes + 3 (the one-hot
    map is concatenated with the photo). Forward as
    :class:`~course_utils.models.pix2pixhd.MultiscaleDiscriminator`: ``netD(seg, photo)``.
    """
    netD = MultiscaleDiscriminator(in_channels, ndf, n_layers, num_D)
    if spectral:
        for net in netD.nets:
            for block in list(net.blocks)[1:-1]:
                block[0] = spectral_norm(block[0])
    return init_spade(netD, init_gain)



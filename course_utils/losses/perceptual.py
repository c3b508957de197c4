"""Losses computed on features: Pix2PixHD's feature matching (its equation 4) and the VGG19
perceptual losses of Pix2PixHD (several layers) and SRGAN (``phi_5,4``, its equation 5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.errors import CourseError
from course_utils.models.vgg import FrozenVGG19

VGG54_LAYER = 35
VGG54_SCALE = 1 / 12.75**2


def feature_matching_loss(real_outputs: list[list[torch.Tensor]],
                          fake_outputs: list[list[torch.Tensor]],
                          lambda_FM: float = 10.0) -> torch.Tensor:
    """Feature matching, paper equation 4, weighted:
    ``lambda_FM * sum_k sum_i mean|D_k^(i)(s, x) - D_k^(i)(s, G(s))|``.

    ``k`` runs over the discriminators (scales), ``i`` over each one's
    intermediate feature maps (every element of its list but the last, which
    is the patch scores); ``mean`` is the paper's ``1 / N_i`` times the L1 norm
    (``N_i``: elements of layer ``i``). The real pair's features are the
    targets: they are **detached**, so this loss trains ``netG`` only (the
    discriminator is not pulled towards the fakes). ``lambda_FM = 10`` in the
    paper (section 3.2). The authors' code further scales each term by
    ``4 / (n_layers + 1) / num_D``; we follow the equation.

    Args:
        real_outputs, fake_outputs: :class:`MultiscaleDiscriminator` outputs on
            ``(real_A, real_B)`` and ``(real_A, fake_B)``.

    Raises:
        CourseError: if the two outputs have different numbers of scales or layers.
    """
    if len(real_outputs) != len(fake_outputs) or any(len(r) != len(f)
                                                     for r, f in zip(real_outputs, fake_outputs)):
        raise CourseError("feature_matching_loss: real and fake outputs must come from the same "
                          "discriminator")
    total = 0.0
    for real_feats, fake_feats in zip(real_outputs, fake_outputs):
        for r, f in zip(real_feats[:-1], fake_feats[:-1]):
            total = total + F.l1_loss(f.float(), r.detach().float())
    return lambda_FM * total


VGG_LAYERS = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 in vgg19.features
VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


class VGGLoss(FrozenVGG19):
    """The perceptual loss: ``sum_j w_j * mean|phi_j(fake_B) - phi_j(real_B)|`` on VGG19 features
    (section 3.2).

    ``phi_j`` are the activations after relu1_1, relu2_1, relu3_1, relu4_1 and
    relu5_1, weighted 1/32, 1/16, 1/8, 1/4 and 1 (the paper's code); the
    paper weighs the whole term with ``lambda = 10``. Images in ``[-1, 1]``
    are mapped to ImageNet's normalisation first. The real features are
    detached; VGG's weights are frozen.

    Args:
        pretrained: load torchvision's ImageNet weights from the torch cache
            (never downloaded here). ``False`` keeps VGG19's random
            initialisation: only for tests of the mechanics.

    Raises:
        CourseError: if ``pretrained`` and the weights are not in the cache.
    """

    def __init__(self, pretrained: bool = True):
        super().__init__(VGG_LAYERS[-1], pretrained,
                         without="train without the VGG loss (lambda_VGG=0)")

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.normalize(x)
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in VGG_LAYERS:
                out.append(h)
        return out

    def forward(self, fake_B: torch.Tensor, real_B: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for w, f, r in zip(VGG_WEIGHTS, self._feats(fake_B), self._feats(real_B)):
            total = total + w * F.l1_loss(f, r.detach())
        return total


class VGG54Loss(FrozenVGG19):
    """The VGG content loss ``l_VGG/5,4`` (paper equation 5): MSE between VGG19 ``phi_5,4``
    features, × 1/12.75².

    ``phi_5,4`` is the feature map after the 4th convolution (and its ReLU)
    before the 5th max-pooling of ImageNet-pretrained VGG19. Images in ``[-1, 1]``
    are mapped to ImageNet's normalisation; the real features are detached and
    VGG is frozen, in eval mode.

    Args:
        pretrained: load torchvision's weights from the torch cache (never
            downloaded here). ``False``: random weights, only to test the mechanics.

    Raises:
        CourseError: ``pretrained`` and the weights are not in the cache (says how to get them).
    """

    def __init__(self, pretrained: bool = True):
        super().__init__(VGG54_LAYER, pretrained,
                         without="use the MSE content loss (content_loss='mse')")

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        """``phi_5,4(x)`` for ``x`` in ``[-1, 1]``."""
        return self.features(self.normalize(x))

    def forward(self, fake_B: torch.Tensor, real_B: torch.Tensor) -> torch.Tensor:
        return VGG54_SCALE * F.mse_loss(self.phi(fake_B), self.phi(real_B).detach())

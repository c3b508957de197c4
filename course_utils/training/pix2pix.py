"""Pix2Pix on the training seam (Isola et al., CVPR 2017).

The networks, the step and the presets are those of :mod:`course_utils.train`
(``build_networks``, ``train_step``, ``PRESETS``); this recipe only hands them
to the loop, so a Pix2Pix run gives the same losses on the seam as before it.
"""

from __future__ import annotations

from course_utils.training import ModelRecipe


class Pix2PixRecipe(ModelRecipe):
    """U-Net ``netG`` + PatchGAN ``netD``, cGAN (BCE) + ``lambda_L1`` * L1."""

    name = "pix2pix"

    def __init__(self, cfg):
        super().__init__(cfg)
        from course_utils import train as hub

        self._hub = hub
        self.loss_keys = hub.LOSS_KEYS
        self.model_fields = hub.MODEL_FIELDS
        self.presets = hub.PRESETS
        self.plot_groups = hub.PIX2PIX_PLOT

    @classmethod
    def get_presets(cls) -> dict[str, dict]:
        from course_utils.train import PRESETS

        return PRESETS

    def build_networks(self, cfg):
        return self._hub.build_networks(cfg)

    def build_generator(self, cfg):
        return self._hub.build_generator(cfg)

    def uses_netD(self) -> bool:
        return self.cfg.gan_weight > 0  # L1 alone never steps optD

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress, autocast, scalers):
        # cfg.l1_warmup: the first part of the run trains netG on the L1 term alone (netD waits)
        gan_weight = 0.0 if progress < self.cfg.l1_warmup else self.cfg.gan_weight
        return self._hub.train_step(
            netG, netD, optG, optD, real_A, real_B, lambda_L1=self.cfg.lambda_L1,
            gan_weight=gan_weight, autocast=autocast, scalers=scalers,
        )

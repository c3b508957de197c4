"""CycleGAN on the training seam (Zhu et al., ICCV 2017): unpaired A <-> B.

The networks, losses and the step are in :mod:`course_utils.models.cyclegan`.
The loop's ``netG`` is :class:`~course_utils.models.cyclegan.CycleGANGenerators`
(``netG(real_A)`` is ``G_AB(real_A)``, so ``pix2pix eval`` and ``translate``
score and apply the A-to-B direction like any Pix2Pix checkpoint) and its
``netD`` is :class:`~course_utils.models.cyclegan.CycleGANDiscriminators`;
one Adam optimiser covers both generators and one both discriminators, as in
the paper's code.

**Unpaired data.** The recipe sets ``unpaired = True``: the loop then draws
each batch's ``real_B`` from its own shuffled order of the training set,
independent of the order that gives ``real_A`` (each image with its own random
crop and flip), so the aligned pairs of ``maps/train`` are never used as pairs.
(An A and a B come from the same tile only by chance: about once per epoch.)
Evaluation on the paired val split is then exactly the protocol of the GcGAN
and CycleGAN papers: translate each held-out aerial photo and compare with its
true map.
"""

from __future__ import annotations

from course_utils.errors import CourseError
from course_utils.models.cyclegan import LOSS_KEYS, ImagePool, cyclegan_step, define_cyclegan
from course_utils.training import ModelRecipe

MODEL_FIELDS = ("netG", "ngf", "ndf", "n_layers_D", "norm", "direction", "in_channels", "out_channels")

_COMMON = dict(norm="instance", dropout=0.0, lr=2e-4, beta1=0.5, lambda_cyc=10.0, lambda_idt=0.5,
               compile="off")

PRESETS: dict[str, dict] = {
    # A few seconds: tests and CI.
    "smoke": dict(
        _COMMON, netG="unet_32", ngf=8, ndf=8, load_size=64, crop_size=32, eval_size=64, batch_size=2,
        max_steps=6, max_train_items=16, save_every=3, n_samples=2, epochs=1, pool_size=4,
    ),
    # The same networks, data scale and batch as Pix2Pix's cpu-quick (unet_128 ngf 32, PatchGAN ndf 32,
    # 600 -> 256 tiles, random 128 crops, whole 256 tiles at test time), so that a comparison at equal
    # CPU time differs only in the supervision and the losses; the paper's lr 2e-4 (LSGAN).
    "cpu-quick": dict(
        _COMMON, netG="unet_128", ngf=32, ndf=32, load_size=256, crop_size=128, eval_size=256,
        interpolation="bilinear", batch_size=4, epochs=12, decay_fraction=0.5, save_every=250, pool_size=50,
    ),
    # The paper (section 4 and appendix 7.2): resnet_9blocks at 256 px, 70x70 PatchGAN, instance norm,
    # LSGAN, lambda 10, identity 0.5 * lambda, pool of 50, Adam 2e-4 / 0.5, batch 1, 100 epochs at
    # constant lr then 100 decaying linearly; jitter 286 -> 256 and flips.
    "paper": dict(
        _COMMON, netG="resnet_9blocks", ngf=64, ndf=64, n_layers_D=3, load_size=286, crop_size=256,
        eval_size=256, batch_size=1, epochs=200, decay_fraction=0.5, pool_size=50,
    ),
}


class CycleGANRecipe(ModelRecipe):
    """Two generators (A->B, B->A), two PatchGANs, LSGAN + ``lambda_cyc`` * cycle + identity, unpaired batches."""

    name = "cyclegan"
    loss_keys = LOSS_KEYS
    model_fields = MODEL_FIELDS
    presets = PRESETS
    plot_groups = (("adversarial (LSGAN): generators summed, each D halved", ("G_GAN", "D_A", "D_B")),
                   ("cycle and identity L1 (weighted)", ("G_cyc", "G_idt")))
    unpaired = True

    def __init__(self, cfg):
        super().__init__(cfg)
        if cfg.lambda_cyc < 0 or cfg.lambda_idt < 0:
            raise CourseError(f"cyclegan: lambda_cyc and lambda_idt must be >= 0, got {cfg.lambda_cyc} and "
                              f"{cfg.lambda_idt} (paper: 10 and 0.5)")
        if cfg.lambda_idt > 0 and cfg.in_channels != cfg.out_channels:
            raise CourseError(f"cyclegan: the identity loss needs as many input as output channels "
                              f"({cfg.in_channels} vs {cfg.out_channels}); set lambda_idt to 0")
        self.pool_A, self.pool_B = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)

    def setup(self, device, is_main: bool) -> None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            raise CourseError("cyclegan trains on one process only (its step calls the four networks "
                              "directly); run it without torchrun")

    def build_networks(self, cfg):
        c = self.cfg
        return define_cyclegan(c.netG, c.ngf, c.ndf, c.n_layers_D, c.norm, c.in_channels, c.out_channels)

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress, autocast, scalers):
        G = getattr(netG, "_orig_mod", netG)  # a torch.compile wrapper: its submodules run eagerly
        D = getattr(netD, "_orig_mod", netD)
        return cyclegan_step(G.G_AB, G.G_BA, D.D_A, D.D_B, optG, optD, real_A, real_B,
                             lambda_cyc=self.cfg.lambda_cyc, lambda_idt=self.cfg.lambda_idt,
                             pool_A=self.pool_A, pool_B=self.pool_B, autocast=autocast, scalers=scalers)

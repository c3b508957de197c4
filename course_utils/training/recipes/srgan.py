"""SRGAN and SRResNet on the training seam (Ledig et al., CVPR 2017): ×4 super-resolution.

The networks and losses are in :mod:`course_utils.models.srgan`; this module
gives the loop the data (high-resolution crops and their bicubic downscale,
:class:`~course_utils.data.datasets.SuperResolutionDataset`), the training step and
the presets.

**Data.** With ``--dataset maps`` the aerial halves (A) of the pairs: train on
``maps/train``, samples and scores on the held-out ``maps/val`` (another
region). With ``--data DIR`` the images of ``DIR/train`` (and ``DIR/val``) are
used whole, so any folder of photos works. ``crop_size`` is the side of the
high-resolution training crop (the input is ``crop_size / scale``);
``eval_size`` the side of the centre crop that samples and ``pix2pix eval``
score.

**The step.** ``fake_B = netG(real_A)`` (``real_A`` the low-resolution input).
With ``lambda_adv > 0`` and past the warm-up: ``netD`` on
``BCE(D(real_B), 1) + BCE(D(fake_B.detach()), 0)``, then ``netG`` on the
perceptual loss ``content + lambda_adv * BCE(D(fake_B), 1)`` (paper equation 3)
with ``netD`` frozen. Otherwise (``lambda_adv = 0``: SRResNet; or during the
first ``warmup_fraction`` of the run) ``netG`` on the content loss alone.

**Content loss** (``content_loss``): ``"mse"`` the pixel MSE (SRResNet, and
the paper's SRGAN-MSE); ``"vgg"`` VGG19 ``phi_5,4`` (SRGAN-VGG54, needs
torchvision's pretrained weights in the torch cache, never downloaded here);
``"auto"`` (default) VGG when the weights are cached and the adversarial term
is on, else the MSE, and the run says which.
"""

from __future__ import annotations

import contextlib

from course_utils.errors import CourseError
from course_utils.losses.objectives import srgan_discriminator_loss, srgan_generator_loss
from course_utils.losses.perceptual import VGG54Loss
from course_utils.losses.pixel import pixel_mse
from course_utils.models.init import set_requires_grad
from course_utils.models.srgan import (
    define_D_sr,
    define_G_sr,
    vgg19_weights_available,
    vgg19_weights_path,
)
from course_utils.training.precision import backward_and_step
from course_utils.training.recipes import ModelRecipe, Option

LOSS_KEYS = ("G_content", "G_MSE", "G_adv", "D_real", "D_fake")
MODEL_FIELDS = ("ngf", "n_blocks", "ndf", "scale", "in_channels", "out_channels")
CONTENT_LOSSES = ("auto", "mse", "vgg")

_COMMON = dict(beta1=0.9, load_size=None, interpolation="bicubic", lambda_adv=1e-3,
               content_loss="auto")

PRESETS: dict[str, dict] = {
    # A few seconds: tests and CI.
    "smoke": dict(
        _COMMON, ngf=8, n_blocks=1, ndf=4, crop_size=32, eval_size=32, batch_size=2, lr=1e-3,
        max_steps=6, max_train_items=16, save_every=3, n_samples=2, epochs=1, compile="off",
        warmup_fraction=0.34,
    ),
    # A few CPU minutes on maps: a narrower, shallower SRResNet (ngf 32, B = 6), 96 px HR crops (the
    # paper's), batch 8, lr 5e-4 decaying over the second half; the first 40 % of the run on the
    # content loss alone (the paper starts SRGAN from a trained SRResNet). Scores on 192 px centre
    # crops of the val tiles.
    "cpu-quick": dict(
        _COMMON, ngf=32, n_blocks=6, ndf=16, crop_size=96, eval_size=192, batch_size=8, lr=5e-4,
        epochs=4, decay_fraction=0.5, save_every=250, compile="off", warmup_fraction=0.4,
    ),
    # The paper's networks (section 3.2): ngf 64, B = 16, ndf 64, 96 px HR crops, batch 16, Adam
    # (beta1 0.9) lr 1e-4; the paper trains SRResNet for 1e6 steps and SRGAN from it for 1e5 at 1e-4
    # and 1e5 at 1e-5; here one run with the first 90 % on the content loss alone and the lr
    # decaying over the last 10 %. Scored on whole 600 px val tiles.
    "paper": dict(
        _COMMON, ngf=64, n_blocks=16, ndf=64, crop_size=96, eval_size=600, batch_size=16, lr=1e-4,
        epochs=200, decay_fraction=0.1, warmup_fraction=0.9,
    ),
}



def sr_train_step(netG, netD, optG, optD, real_A, real_B, *, lambda_adv: float = 1e-3,
                  content=pixel_mse, adversarial: bool = True, autocast=None,
                  scalers=None) -> dict:
    """One SRGAN step: ``netD`` once, then ``netG`` once (or ``netG`` alone when not
    ``adversarial``).

    Args:
        netG: an :class:`~course_utils.models.srgan.SRResNet` (possibly wrapped).
        netD: an :class:`~course_utils.models.srgan.SRDiscriminator`.
        real_A: ``(N, 3, h, w)`` low-resolution inputs in ``[-1, 1]``.
        real_B: ``(N, 3, s h, s w)`` high-resolution targets in ``[-1, 1]``.
        lambda_adv: the adversarial weight (paper 1e-3); 0 or ``adversarial=False`` trains
            ``netG`` on ``content`` alone and never touches ``netD``.
        content: ``content(fake_B, real_B)``: :func:`~course_utils.models.srgan.pixel_mse` or a
            :class:`~course_utils.models.srgan.VGG54Loss`.

    Returns:
        ``{"G_content", "G_MSE", "G_adv", "D_real", "D_fake"}`` as floats (``G_adv`` unweighted;
        the adversarial entries are 0 when the step is not adversarial).
    """
    ctx = autocast or contextlib.nullcontext
    scaler_G, scaler_D = scalers or (None, None)

    with ctx():
        fake_B = netG(real_A)
    out = dict.fromkeys(LOSS_KEYS, 0.0)
    adversarial = adversarial and lambda_adv > 0
    if adversarial:
        set_requires_grad(netD, True)
        optD.zero_grad(set_to_none=True)
        with ctx():
            # fake_B detached inside
            loss_D, d_real, d_fake = srgan_discriminator_loss(netD, fake_B, real_B)
        backward_and_step(optD, loss_D, scaler_D)
        out["D_real"], out["D_fake"] = d_real.detach().item(), d_fake.detach().item()
        set_requires_grad(netD, False)
    else:
        # No gradient reaches netD: Adam's step skips every parameter (a no-op), and optD's lr
        # schedule stays in step with optG's without PyTorch's "scheduler before optimizer" warning.
        optD.zero_grad(set_to_none=True)
        optD.step()

    optG.zero_grad(set_to_none=True)
    with ctx():
        if adversarial:
            loss_G, content_term, adv = srgan_generator_loss(netD, fake_B, real_B, content,
                                                             lambda_adv)
            out["G_adv"] = adv.detach().item()
        else:
            loss_G = content_term = content(fake_B, real_B)
    backward_and_step(optG, loss_G, scaler_G)
    if adversarial:
        set_requires_grad(netD, True)
    out["G_content"] = content_term.detach().item()
    out["G_MSE"] = (content_term.detach().item() if content is pixel_mse
                    else pixel_mse(fake_B.detach(), real_B).item())
    return out


class SRGANRecipe(ModelRecipe):
    """SRResNet ``netG`` (×``scale``), SRGAN ``netD``; content loss + ``lambda_adv`` · adversarial
    (SRResNet: MSE)."""

    name = "srgan"
    palette_iou = False
    options = (
        Option("lambda_adv", "--lambda-adv", "weight of the adversarial term (paper: 1e-3); 0 "
               "trains SRResNet (MSE alone)"),
        Option("content_loss", "--content-loss", "content loss; auto (default): VGG19 phi_5,4 when "
               "its pretrained weights are cached and lambda_adv > 0, else the pixel MSE", type=str,
               choices=("auto", "mse", "vgg")),
    )
    loss_keys = LOSS_KEYS
    model_fields = MODEL_FIELDS
    presets = PRESETS
    plot_groups = (("content loss and pixel MSE ([-1, 1] units)", ("G_content", "G_MSE")),
                   ("adversarial losses (BCE; G_adv unweighted)",
                    ("G_adv", "D_real", "D_fake")))

    def __init__(self, cfg):
        super().__init__(cfg)
        self.content = pixel_mse
        self.content_name = "mse"
        s = cfg.scale
        if not isinstance(s, int) or s < 2 or s & (s - 1):
            raise CourseError(f"srgan: scale must be a power of 2 (2, 4, 8), got {s!r}")
        for name in ("crop_size", "eval_size"):
            v = getattr(cfg, name)
            if v % s:
                raise CourseError(f"srgan: {name} {v} must be a multiple of scale {s} "
                                  f"(the high-resolution side); e.g. {s * max(1, v // s)}")
        if cfg.content_loss not in CONTENT_LOSSES:
            raise CourseError(f"srgan: content_loss must be one of {', '.join(CONTENT_LOSSES)}, "
                              f"got {cfg.content_loss!r}")
        if not 0 <= cfg.warmup_fraction <= 1:
            raise CourseError(f"srgan: warmup_fraction must be in [0, 1], "
                              f"got {cfg.warmup_fraction}")
        if cfg.lambda_adv < 0:
            raise CourseError(f"srgan: lambda_adv must be >= 0 (0: SRResNet), got {cfg.lambda_adv}")

    def _half(self):
        # maps: the aerial photos; your own folder: whole images
        return "A" if not self.cfg.data else None

    def build_networks(self, cfg):
        c = self.cfg
        return (define_G_sr(c.in_channels, c.out_channels, c.ngf, c.n_blocks, c.scale),
                define_D_sr(c.out_channels, c.ndf))

    def uses_netD(self) -> bool:
        return self.cfg.lambda_adv > 0

    def setup(self, device, is_main: bool) -> None:
        c = self.cfg
        choice = c.content_loss
        if choice == "auto":
            choice = "vgg" if c.lambda_adv > 0 and vgg19_weights_available() else "mse"
            if is_main and c.lambda_adv > 0 and choice == "mse":
                print(f"srgan: no pretrained VGG19 weights at {vgg19_weights_path()}: "
                      f"content loss = pixel MSE (the paper's SRGAN-MSE) instead of VGG phi_5,4",
                      flush=True)
        if choice == "vgg":
            # a clear error if the weights are missing
            self.content = VGG54Loss(pretrained=True).to(device)
        self.content_name = choice
        if is_main:
            what = ("SRResNet (content loss alone)" if c.lambda_adv == 0 else
                    f"SRGAN (lambda_adv = {c.lambda_adv:g}, content alone for the first "
                    f"{c.warmup_fraction:.0%})")
            print(f"srgan: {what}, content loss {choice}", flush=True)

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress, autocast, scalers):
        return sr_train_step(netG, netD, optG, optD, real_A, real_B,
                             lambda_adv=self.cfg.lambda_adv, content=self.content,
                             adversarial=progress >= self.cfg.warmup_fraction,
                             autocast=autocast, scalers=scalers)

    def generate(self, netG, real_A, progress):
        return netG(real_A).clamp(-1, 1)

    def train_dataset(self, folder, progress: bool = True):
        from course_utils.data.datasets import SuperResolutionDataset

        c = self.cfg
        return SuperResolutionDataset(folder, half=self._half(), scale=c.scale,
                                      crop_size=c.crop_size, train=True, flip=c.flip,
                                      cache=c.cache, max_items=c.max_train_items,
                                      progress=progress)

    def eval_dataset(self, folder, max_items=None, cache: bool = True, progress: bool = True):
        from course_utils.data.datasets import SuperResolutionDataset

        c = self.cfg
        return SuperResolutionDataset(folder, half=self._half(), scale=c.scale,
                                      crop_size=c.eval_size, train=False, cache=cache,
                                      max_items=max_items, progress=progress)

    def use_eval_folder(self, folder, dataset: str | None) -> None:
        # what is scored follows the eval command: a course split -> its aerial halves, --data ->
        # whole images
        self.cfg.data, self.cfg.dataset = (None, dataset) if dataset else (str(folder), None)

    def evaluate(self, netG, dataset, *, device, batch_size: int = 8, mode: str = "eval",
                 palette=None, save_images=None, progress: bool = True) -> dict:
        """PSNR and SSIM on Y with the border cropped, beside the bicubic baseline
        (:func:`course_utils.evaluation.evaluate.evaluate_sr`); ``mode`` and ``palette`` do not
        apply."""
        from course_utils.evaluation.evaluate import evaluate_sr

        return evaluate_sr(netG, dataset, device=device, scale=self.cfg.scale,
                           batch_size=batch_size, save_images=save_images, progress=progress)

    def translate_options(self) -> dict:
        # Native resolution (no rescale), ×scale output; images with a side over 256 px run in
        # 96 px tiles overlapping by 24 (the output's memory grows with scale**2).
        return {"size": 96, "scale": 1.0, "upscale": self.cfg.scale, "multiple": 1, "max_side": 256,
                "overlap": 24}

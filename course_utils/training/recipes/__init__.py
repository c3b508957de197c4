"""The training seam: one loop (:func:`course_utils.training.loop.train`) and one small interface
per model.

The loop owns everything that is the same for every model: the run folder,
``config.json``, ``losses.jsonl``, resume, DDP, the time budget, the lr
schedule, sample grids and atomic checkpoints. A model supplies a
:class:`ModelRecipe`:

- ``build_networks(cfg)``: ``netG`` and ``netD``, initialised;
- ``make_optimizers(netG, netD, fused)``: optional, default Adam with
  ``cfg.lr`` and betas ``(cfg.beta1, 0.999)`` for both;
- ``train_step(...)``: one optimisation step on a batch, returning its losses;
- ``generate(netG, real_A, progress)``: what the sample grids show;
- ``loss_keys``, ``plot_groups``: what the step logs and how to plot it;
- ``model_fields``: the config fields that define its networks (a checkpoint
  can only be resumed or evaluated with the same values);
- ``presets``: its named configurations;
- ``unpaired``: ``True`` makes the loop draw each batch's ``real_B`` from its
  own shuffled order of the training set, independent of ``real_A``'s (CycleGAN).

``pix2pix train --model NAME`` picks one (:func:`get_recipe`); ``pix2pix
eval``/``translate`` read the model's name from the checkpoint's config.
Registered models: ``pix2pix`` (Isola et al. 2017), ``pix2pixhd`` (Wang
et al. 2018), ``cyclegan`` (Zhu et al. 2017, unpaired), ``srgan`` (Ledig et al. 2017, ×4
super-resolution; with ``lambda_adv=0`` SRResNet) and ``spade`` (GauGAN, Park et al. 2019). A
recipe may also choose its data (``train_dataset``, ``eval_dataset``), how ``translate`` runs
(``translate_options``) and its optimisers (``make_optimizers``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from course_utils.errors import CourseError


@dataclass(frozen=True)
class Option:
    """A training option that a recipe declares: the ``TrainConfig`` field and its ``pix2pix
    train`` flag.

    ``type``: ``float``, ``int``, ``str`` or ``bool`` (a ``bool`` option is a switch that sets
    ``True``). The command line builds its flags from every recipe's ``options``, so adding an
    option to one model touches that model's recipe (and the ``TrainConfig`` field it sets).
    """

    field: str
    flag: str
    help: str
    type: type = float
    choices: tuple | None = None
    metavar: str | None = None

MODELS = {
    "pix2pix": "course_utils.training.recipes.pix2pix:Pix2PixRecipe",
    "pix2pixhd": "course_utils.training.recipes.pix2pixhd:Pix2PixHDRecipe",
    "srgan": "course_utils.training.recipes.srgan:SRGANRecipe",
    "cyclegan": "course_utils.training.recipes.cyclegan:CycleGANRecipe",
    "spade": "course_utils.training.recipes.spade:SpadeRecipe",
}


class ModelRecipe:
    """What one model gives the training loop. Subclasses set the class attributes and the methods.

    A recipe is built once per run with the run's config (``Recipe(cfg)``), so
    it may hold state that is not a network (e.g. a frozen VGG for a
    perceptual loss).
    """

    name: str = ""
    # the model-specific flags of `pix2pix train` (the loop's own flags are in course_utils.cli)
    options: tuple[Option, ...] = ()
    # pix2pix eval may score generated maps by palette IoU (not for photo -> photo models such as
    # SRGAN)
    palette_iou: bool = True
    loss_keys: tuple[str, ...] = ()
    model_fields: tuple[str, ...] = ()
    presets: dict[str, dict] = {}
    # [(title, keys), ...]: one panel per entry in losses.png
    plot_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # DDP must look for parameters that a step does not use (e.g. G2 while G1 trains alone)
    ddp_find_unused_parameters: bool = False
    # True: real_B is drawn independently of real_A (its own shuffled order), so no pair is ever
    # used
    unpaired: bool = False

    def __init__(self, cfg):
        self.cfg = cfg

    @classmethod
    def get_presets(cls) -> dict[str, dict]:
        """The model's named configurations: ``{preset name: TrainConfig overrides}``."""
        return cls.presets

    def setup(self, device, is_main: bool) -> None:  # noqa: B027 - optional hook
        """Called once before training, on the training device (e.g. to build loss networks)."""

    def build_networks(self, cfg):
        """``(netG, netD)`` for ``cfg``, initialised."""
        raise NotImplementedError

    def build_generator(self, cfg):
        """``netG`` alone (for eval and translate); by default the first of
        :meth:`build_networks`."""
        return self.build_networks(cfg)[0]

    def make_optimizers(self, netG, netD, fused: bool = False):
        """``(optG, optD)``; by default :func:`course_utils.training.loop.make_optimizers` with
        ``cfg.lr`` and ``cfg.beta1``."""
        from course_utils.training.optim import make_optimizers

        return make_optimizers(netG, netD, self.cfg.lr, self.cfg.beta1, fused=fused)

    def uses_netD(self) -> bool:
        """Whether the step trains ``netD`` (its lr scheduler is stepped only then)."""
        return True

    def train_step(self, netG, netD, optG, optD, real_A, real_B, *, progress: float, autocast,
                   scalers) -> dict:
        """One optimisation step; ``progress`` in ``[0, 1]`` is how far along the run is (steps or
        time)."""
        raise NotImplementedError

    def generate(self, netG, real_A, progress: float):
        """``fake_B`` for the sample grids (``netG`` already in eval mode, no gradients)."""
        return netG(real_A)

    def train_dataset(self, folder, progress: bool = True):
        """The training set: by default :class:`~course_utils.data.datasets.PairedImageDataset`
        with the pix2pix jitter."""
        from course_utils.data.datasets import PairedImageDataset

        c = self.cfg
        return PairedImageDataset(
            folder, direction=c.direction, load_size=c.load_size, crop_size=c.crop_size, train=True,
            flip=c.flip, cache=c.cache, interpolation=c.interpolation, max_items=c.max_train_items,
            progress=progress,
        )

    def eval_dataset(self, folder, max_items=None, cache: bool = True, progress: bool = True):
        """The deterministic samples/evaluation set: by default whole ``eval_size`` tiles, bilinear
        resize."""
        from course_utils.data.datasets import PairedImageDataset

        c = self.cfg
        return PairedImageDataset(
            folder, direction=c.direction, load_size=c.eval_size, crop_size=c.eval_size,
            train=False, cache=cache, interpolation="bilinear", max_items=max_items,
            progress=progress,
        )

    def translate_options(self) -> dict:
        """Keyword arguments of :func:`course_utils.evaluation.evaluate.translate` for ``pix2pix
        translate``."""
        return {"size": self.cfg.eval_size}

    def use_eval_folder(self, folder, dataset: str | None) -> None:
        """Point ``cfg`` at what ``pix2pix eval`` scores: ``folder``, a split of ``dataset`` or
        (``None``) a ``--data`` folder.

        By default nothing changes: :meth:`eval_dataset` reads the folder as it is.
        """

    def evaluate(self, netG, dataset, *, device, batch_size: int = 8, mode: str = "eval",
                 palette=None, save_images=None, progress: bool = True) -> dict:
        """``pix2pix eval``'s scores of ``netG`` on ``dataset``: by default
        :func:`course_utils.evaluation.evaluate.evaluate` (pixel scores, the GcGAN protocol, and the
        palette IoU when ``palette`` is given)."""
        from course_utils.evaluation.evaluate import evaluate

        return evaluate(netG, dataset, device=device, mode=mode, batch_size=batch_size,
                        palette=palette, save_images=save_images, progress=progress)


def recipe_class(name: str) -> type[ModelRecipe]:
    """The :class:`ModelRecipe` subclass registered as ``name``.

    Raises:
        CourseError: for an unknown name, listing the known ones.
    """
    if name not in MODELS:
        raise CourseError(f"unknown model {name!r}; choose one of {', '.join(MODELS)} (--model)")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def get_recipe(cfg) -> ModelRecipe:
    """The recipe of ``cfg.model``, built with ``cfg``."""
    return recipe_class(cfg.model)(cfg)


def discriminator_step(netD, optD, cond, real_B, fake_B, d_loss, *, ctx, scaler, halve: bool):
    """One update of a conditional (multi-scale) discriminator on a real and a fake pair.

    ``d_loss(outputs, target_is_real)`` scores ``netD(cond, B)``; ``fake_B`` is detached, so no
    gradient reaches the generator. ``halve``: ``0.5 * (real + fake)`` (Pix2PixHD's code) instead of
    the sum (SPADE's hinge loss). Returns ``(netD(cond, real_B), d_real, d_fake)``: the real outputs
    are what feature matching compares the fakes with.
    """
    from course_utils.models.init import set_requires_grad
    from course_utils.training.precision import backward_and_step

    set_requires_grad(netD, True)
    optD.zero_grad(set_to_none=True)
    with ctx():
        pred_real = netD(cond, real_B)
        pred_fake = netD(cond, fake_B.detach())
        d_real, d_fake = d_loss(pred_real, True), d_loss(pred_fake, False)
        loss_D = 0.5 * (d_real + d_fake) if halve else d_real + d_fake
    backward_and_step(optD, loss_D, scaler)
    return pred_real, d_real, d_fake


def generator_gan_terms(netD, cond, fake_B, real_B, pred_real, g_loss, lambda_FM: float, vgg=None,
                        lambda_VGG: float = 0.0):
    """The generator's adversarial, feature-matching and VGG terms against a multi-scale ``netD``.

    Call it inside the step's autocast, with ``netD`` frozen. ``g_loss(outputs)`` is the
    generator's GAN loss on ``netD(cond, fake_B)``; ``pred_real`` the real outputs of
    :func:`discriminator_step` (their features are the feature-matching targets). Returns
    ``(g_gan, g_fm, g_vgg)``, the last two weighted (``g_vgg`` is 0 without ``vgg``).
    """
    import torch

    from course_utils.losses.perceptual import feature_matching_loss

    pred_fake = netD(cond, fake_B)
    g_gan = g_loss(pred_fake)
    g_fm = feature_matching_loss(pred_real, pred_fake, lambda_FM)
    g_vgg = (lambda_VGG * vgg(fake_B, real_B) if vgg is not None and lambda_VGG > 0
             else torch.zeros(()))
    return g_gan, g_fm, g_vgg


def all_options() -> dict[str, tuple[Option, tuple[str, ...]]]:
    """Every recipe's options by flag: ``{flag: (option, names of the models that declare it)}``."""
    found: dict[str, tuple[Option, tuple[str, ...]]] = {}
    for name in MODELS:
        for opt in recipe_class(name).options:
            known = found.get(opt.flag)
            found[opt.flag] = (opt, (*known[1], name) if known else (name,))
    return found


__all__ = ["MODELS", "ModelRecipe", "Option", "all_options", "discriminator_step",
           "generator_gan_terms", "get_recipe", "recipe_class"]

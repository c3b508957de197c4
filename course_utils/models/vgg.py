"""A frozen VGG19 feature extractor: the network under the course's perceptual losses.

Source: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale
Image Recognition", ICLR 2015 (configuration E), with torchvision's
ImageNet weights. Pix2PixHD and SPADE compare several of its ReLU outputs
(:class:`~course_utils.models.pix2pixhd.VGGLoss`), SRGAN the one after conv5_4
(:class:`~course_utils.models.srgan.VGG54Loss`).

The course never downloads the weights (course machines may have no internet):
:func:`vgg19_weights_path` is where torchvision keeps them once fetched.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from course_utils.errors import CourseError

VGG19_FILE = "vgg19-dcbac81e.pth"  # torchvision's ImageNet weights (VGG19_Weights.IMAGENET1K_V1)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_weights_path() -> Path:
    """Where torchvision keeps the pretrained VGG19 weights:
    ``<torch hub dir>/checkpoints/vgg19-dcbac81e.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def vgg19_weights_available() -> bool:
    """True when torchvision's pretrained VGG19 weights are already in the torch cache (nothing is
    downloaded)."""
    return vgg19_weights_path().is_file()


class FrozenVGG19(nn.Module):
    """``torchvision.models.vgg19().features[: last_layer + 1]``, frozen and always in eval mode.

    Args:
        last_layer: index in ``vgg19().features`` of the last layer kept.
        pretrained: load the ImageNet weights from the torch cache (never
            downloaded). ``False`` keeps a random initialisation: only for
            tests of the mechanics.
        without: the alternative that the missing-weights error suggests
            (e.g. ``"train without the VGG loss (lambda_VGG=0)"``).

    Raises:
        CourseError: ``pretrained`` and the weights are not in the cache; the
            message names the file and how to fetch it.
    """

    def __init__(self, last_layer: int, pretrained: bool = True, without: str = ""):
        super().__init__()
        from torchvision.models import vgg19

        # the layers without their (large) initialisation; the classifier is never built
        with torch.device("meta"):
            features = vgg19(weights=None).features[: last_layer + 1]
        features = features.to_empty(device="cpu")
        if pretrained:
            path = vgg19_weights_path()
            if not path.is_file():
                raise CourseError(
                    f"VGG19 weights not found at {path}; on a machine with internet run "
                    f"`python -c 'import torchvision; "
                    f"torchvision.models.vgg19(weights=\"DEFAULT\")'`"
                    + (f", or {without}" if without else "")
                )
            state = torch.load(path, map_location="cpu", weights_only=True)
            features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()
                                      if k.startswith("features.")
                                      and int(k.split(".")[1]) <= last_layer})
        else:
            for m in features.modules():
                if isinstance(m, nn.Conv2d):
                    m.reset_parameters()
        self.features = features.eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True):  # VGG stays in eval mode
        super().train(mode)
        self.features.eval()
        return self

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in ``[-1, 1]`` -> float32 in ImageNet's normalisation (VGG's input)."""
        return ((x.float() + 1) / 2 - self.mean) / self.std

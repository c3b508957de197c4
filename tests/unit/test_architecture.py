"""Architecture figures are drawn from the modules: shapes and receptive fields match the known
values."""

import matplotlib
import torch

from course_utils.evaluation.architecture import draw, trace
from course_utils.models import UNet, define_D, define_G, receptive_field

matplotlib.use("Agg")


def test_patchgan_receptive_fields_match_the_formula():
    layers = trace(define_D(ndf=2), (1, 3, 256, 256), (1, 3, 256, 256))
    assert [ly.kind for ly in layers] == ["conv 4x4 /2"] * 3 + ["conv 4x4"] * 2
    assert [ly.rf for ly in layers] == [4, 10, 22, 46, receptive_field(3)] == [4, 10, 22, 46, 70]
    assert layers[-1].shape == (1, 30, 30) and not layers[-1].clipped
    assert [ly.level for ly in layers] == [1, 2, 3, 3, 3]


def test_generator_traced_on_meta_with_a_narrow_copy_for_the_fields():
    with torch.device("meta"):
        netG = define_G("unet_256")  # 54 million parameters, no data
    layers = trace(netG, (1, 3, 256, 256), rf_net=define_G("unet_256", ngf=1))
    assert len(layers) == 16
    assert (
        layers[0].shape == (64, 128, 128)
        and layers[7].shape == (512, 1, 1)
        and layers[-1].shape == (3, 256, 256)
    )
    assert [ly.level for ly in layers] == list(range(1, 9)) + list(range(7, -1, -1))
    assert [ly.rf for ly in layers[:6]] == [4, 10, 22, 46, 94, 190]  # 1 + 3 * (2^k - 1)
    assert layers[7].whole and layers[-1].whole  # the bottleneck sees the whole 256 x 256 input


def test_unet_2015_field_of_the_first_block():
    layers = trace(UNet(1, 2, hidden_channels=1, depth=2), (1, 1, 92, 92))
    first = {ly.name: ly.rf for ly in layers}
    assert (
        first["upfeature.conv"] == 1
        and first["contract.0.conv1"] == 3
        and first["contract.0.conv2"] == 5
    )
    assert first["contract.0.maxpool"] == 6


def test_draw_returns_an_axis_with_skips():
    layers = trace(define_G("unet_32", ngf=1), (1, 3, 32, 32))
    ax = draw(layers, "unet_32", input_shape=(3, 32, 32))
    arrows = [c for c in ax.texts if c.arrow_patch is not None]
    labels = [c for c in ax.texts if c.arrow_patch is None]
    assert len(arrows) == 4  # levels 1..4 have a skip; the input and the bottleneck do not
    assert len(labels) == len(layers) + 1

"""The reference networks match the paper's architecture and the known parameter counts."""

import pytest
import torch
from torch import nn

from course_utils.models import (
    PatchGANDiscriminator,
    UNet,
    UnetGenerator,
    count_parameters,
    define_D,
    define_G,
    init_weights,
    receptive_field,
)
from course_utils.models.unet import ContractingBlock, ExpandingBlock, crop


def test_unet_256_parameter_count():
    # Known value for pix2pix's unet_256, ngf 64, BatchNorm.
    assert count_parameters(define_G("unet_256", ngf=64)) == 54_413_955


def test_patchgan_70_parameter_count():
    assert count_parameters(define_D(in_channels=6, ndf=64, n_layers=3)) == 2_768_705


@pytest.mark.parametrize("n_layers, expected", [(1, 16), (2, 34), (3, 70), (4, 142), (5, 286)])
def test_receptive_field(n_layers, expected):
    assert receptive_field(n_layers) == expected
    # kernel 3, walking back r -> (r - 1) * s + k: 1 -> 3 -> 5 -> 11 -> 23 -> 47
    assert receptive_field(3, kernel_size=3) == 47


def test_receptive_field_empirically():
    """Gradient of one output logit w.r.t. the input is non-zero exactly on a 70x70 window.

    (Eval-mode BatchNorm is a per-pixel affine map; instance norm would mix all pixels.)
    """
    torch.manual_seed(0)
    netD = PatchGANDiscriminator(6, ndf=4, n_layers=3, norm="batch").eval()
    x = torch.randn(1, 3, 128, 128, requires_grad=True)
    y = torch.randn(1, 3, 128, 128)
    out = netD(x, y)
    out[0, 0, 7, 7].backward()
    rows = torch.nonzero(x.grad[0].abs().sum(0).sum(1)).flatten()
    cols = torch.nonzero(x.grad[0].abs().sum(0).sum(0)).flatten()
    assert int(rows.max() - rows.min() + 1) == 70
    assert int(cols.max() - cols.min() + 1) == 70


def test_patchgan_output_shape_and_concat_order():
    torch.manual_seed(0)
    netD = define_D(6, ndf=8).eval()
    a, b = torch.randn(2, 3, 256, 256), torch.randn(2, 3, 256, 256)
    out = netD(a, b)
    assert out.shape == (2, 1, 30, 30)
    assert torch.allclose(out, netD.model(torch.cat([a, b], 1)))
    assert not torch.allclose(out, netD(b, a))


def test_generator_shapes_range_and_full_convolution():
    torch.manual_seed(0)
    netG = define_G("unet_128", ngf=8).eval()
    for size in (128, 256):
        y = netG(torch.randn(2, 3, size, size) * 3)
        assert y.shape == (2, 3, size, size)
        assert y.abs().max() <= 1.0  # tanh output


def test_generator_rejects_bad_sizes_and_names():
    with pytest.raises(ValueError, match="multiple of 2\\*\\*num_downs = 128"):
        define_G("unet_128", ngf=4)(torch.randn(1, 3, 100, 100))
    for name in ("resnet_9blocks", "unet_100", "unet_16"):
        with pytest.raises(ValueError, match=name):
            define_G(name)


def test_generator_dropout_in_three_innermost_decoder_blocks():
    netG = define_G("unet_256", ngf=8)
    assert sum(isinstance(m, nn.Dropout) for m in netG.modules()) == 3
    assert (
        sum(isinstance(m, nn.Dropout) for m in define_G("unet_256", ngf=8, dropout=0).modules())
        == 0
    )
    # Dropout makes train mode stochastic, eval mode deterministic.
    x = torch.randn(1, 3, 256, 256)
    netG.eval()
    assert torch.equal(netG(x), netG(x))
    netG.train()
    assert not torch.equal(netG(x), netG(x))


def test_generator_skip_connections_carry_input_detail():
    """Unlike a plain encoder-decoder, the outermost skip lets the input reach the last layer."""
    netG = UnetGenerator(num_downs=5, ngf=4, dropout=0)
    outer = netG.model
    x = torch.randn(1, 3, 32, 32)
    inner_out = outer.submodule(outer.down(x))
    assert inner_out.shape == (1, 8, 16, 16)  # ngf features of the skip + ngf of the decoder


def test_instance_norm_variant_has_biases():
    netG = define_G("unet_32", ngf=4, norm="instance")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in netG.modules())
    convs = [m for m in netG.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is not None for c in convs)
    with pytest.raises(ValueError, match="norm must be one of"):
        define_G("unet_32", norm="group")


def test_init_weights_statistics():
    torch.manual_seed(0)
    netG = init_weights(UnetGenerator(num_downs=8, ngf=64))
    w = torch.cat(
        [
            m.weight.flatten()
            for m in netG.modules()
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        ]
    )
    assert abs(float(w.detach().mean())) < 1e-3
    assert abs(float(w.detach().std()) - 0.02) < 1e-3
    bn = torch.cat([m.weight for m in netG.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(float(bn.detach().mean()) - 1.0) < 5e-3


def test_original_unet_crop_and_blocks():
    x = torch.arange(2 * 3 * 9 * 9, dtype=torch.float32).reshape(2, 3, 9, 9)
    c = crop(x, (2, 3, 4, 4))
    assert torch.equal(c, x[..., 2:6, 2:6])  # top offset (9 - 4) // 2 = 2
    with pytest.raises(ValueError):
        crop(x, (1, 1, 10, 4))
    block = ContractingBlock(4)
    assert block(torch.randn(2, 4, 64, 64)).shape == (2, 8, 30, 30)
    up = ExpandingBlock(16)
    assert up(torch.randn(2, 16, 10, 10), torch.randn(2, 8, 40, 40)).shape == (2, 8, 15, 15)


def test_original_unet_output_size():
    net = UNet(1, 2, hidden_channels=4, depth=4)
    assert net(torch.randn(1, 1, 572, 572)).shape == (1, 2, 373, 373)
    assert net.output_size(572) == 373
    with pytest.raises(ValueError):
        net.output_size(570)


def test_encoder_decoder_severs_every_skip():
    """skips=False: the paper's section 4.3 encoder-decoder; each up-convolution sees only the level
    below."""
    unet, ed = (
        define_G("unet_64", ngf=4, dropout=0.0),
        define_G("unet_64", ngf=4, dropout=0.0, skips=False),
    )
    up_in = [m.in_channels for m in ed.modules() if isinstance(m, nn.ConvTranspose2d)]
    down_out = [m.out_channels for m in ed.modules() if isinstance(m, nn.Conv2d)]
    assert up_in == down_out[::-1]  # modules() lists the up-convolutions innermost first
    assert count_parameters(ed) < count_parameters(unet)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert ed.eval()(x).shape == x.shape
    # the encoder is the U-Net's: the same down-convolutions
    assert [m.weight.shape for m in ed.modules() if isinstance(m, nn.Conv2d)] == \
        [m.weight.shape for m in unet.modules() if isinstance(m, nn.Conv2d)]
    assert count_parameters(define_G(skips=False)) < 54_413_955 == count_parameters(define_G())

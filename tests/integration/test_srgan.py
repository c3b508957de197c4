"""SRGAN (Ledig et al., CVPR 2017): data, networks, losses, the step, SR metrics, and the CLI on the
seam."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import read_log
from PIL import Image
from torch import nn

from course_utils.data.datasets import SuperResolutionDataset, bicubic_downscale
from course_utils.errors import BadFilesError, CheckpointError, CourseError, DataError
from course_utils.evaluation.evaluate import _run_tiled, evaluate_sr, translate
from course_utils.evaluation.metrics import bicubic_upscale, luma_y, psnr_y, sr_scores, ssim_y
from course_utils.losses.gan import adversarial_loss
from course_utils.losses.objectives import (
    LAMBDA_ADV,
    srgan_discriminator_loss,
    srgan_generator_loss,
)
from course_utils.losses.perceptual import VGG54Loss
from course_utils.losses.pixel import pixel_mse
from course_utils.models.srgan import (
    ResidualBlock,
    SRDiscriminator,
    SRResNet,
    SubPixelUpsample,
    icnr_,
)
from course_utils.training.checkpoint import generator_from_checkpoint, load_checkpoint
from course_utils.training.config import config_from_preset
from course_utils.training.loop import train
from course_utils.training.recipes import get_recipe
from course_utils.training.recipes.srgan import LOSS_KEYS, sr_train_step

# ---------------------------------------------------------------- data


def test_sr_dataset_pairs_hr_crops_with_their_bicubic_downscale(pairs_root):
    ds = SuperResolutionDataset(
        pairs_root / "train", half="A", scale=4, crop_size=32, train=True, progress=False
    )
    assert len(ds) == 12
    torch.manual_seed(0)
    item = ds[3]
    assert item["real_A"].shape == (3, 8, 8) and item["real_B"].shape == (3, 32, 32)
    assert item["real_A"].min() >= -1 and item["real_B"].max() <= 1
    # the input is exactly PIL's bicubic downscale of the uint8 crop
    hr = torch.round((item["real_B"] + 1) * 127.5).to(torch.uint8)
    assert torch.equal(
        bicubic_downscale(hr, 4), torch.round((item["real_A"] + 1) * 127.5).to(torch.uint8)
    )
    # evaluation: deterministic centre crop of the A half (left of the pair file)
    ev = SuperResolutionDataset(
        pairs_root / "val", half="A", scale=4, crop_size=32, train=False, progress=False
    )
    a, b = ev[0], ev[0]
    assert torch.equal(a["real_B"], b["real_B"])
    pair = np.asarray(Image.open(pairs_root / "val" / "1.jpg").convert("RGB"))
    centre = torch.from_numpy(pair[16:48, 16:48].copy()).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.allclose(a["real_B"], centre)
    # whole images (crop_size None) and single images of any shape (half None)
    whole = SuperResolutionDataset(
        pairs_root / "val", half=None, scale=4, crop_size=None, train=False, progress=False
    )
    assert whole[0]["real_B"].shape == (3, 64, 128) and whole[0]["real_A"].shape == (3, 16, 32)


def test_sr_dataset_clear_errors(pairs_root, tmp_path):
    with pytest.raises(ValueError, match="multiple of scale"):
        SuperResolutionDataset(pairs_root / "train", crop_size=30, progress=False)
    with pytest.raises(ValueError, match="half must be"):
        SuperResolutionDataset(pairs_root / "train", half="left", progress=False)
    with pytest.raises(DataError, match="does not exist"):
        SuperResolutionDataset(tmp_path / "nowhere", progress=False)
    bad = tmp_path / "bad"
    bad.mkdir()
    Image.new("RGB", (40, 40)).save(bad / "square.png")
    Image.new("RGB", (64, 32)).save(bad / "small_pair.png")
    (bad / "empty.jpg").write_bytes(b"")
    with pytest.raises(BadFilesError) as err:
        SuperResolutionDataset(bad, half="A", crop_size=96, progress=False)
    msg = str(err.value)
    assert (
        "square.png" in msg
        and "not a 2:1" in msg
        and "empty.jpg" in msg
        and "small_pair.png" in msg
    )
    assert "too small" in msg and "crop_size" in msg
    # single images: any shape, but at least crop_size
    with pytest.raises(BadFilesError, match="40x40 px, at least 96x96"):
        SuperResolutionDataset(bad, half=None, crop_size=96, progress=False)


# ---------------------------------------------------------------- networks


def test_subpixel_block_shapes_and_icnr_starts_free_of_checkerboard():
    torch.manual_seed(0)
    up = SubPixelUpsample(8)
    x = torch.randn(2, 8, 5, 7)
    y = up(x)
    assert y.shape == (2, 8, 10, 14)
    assert up.conv.out_channels == 32 and isinstance(up.shuffle, nn.PixelShuffle)
    # ICNR: the four sub-pixels of every 2x2 output cell are equal at initialisation
    cells = y.unfold(2, 2, 2).unfold(3, 2, 2)
    assert torch.allclose(cells, cells[..., :1, :1].expand_as(cells))
    w = torch.empty(12, 3, 3, 3)
    icnr_(w, 2)
    assert torch.equal(w[0], w[3]) and not torch.equal(w[0], w[4])
    with pytest.raises(CourseError, match="multiple of upscale"):
        icnr_(torch.empty(6, 3, 3, 3), 2)


def test_residual_block_and_generator_structure():
    blk = ResidualBlock(4)
    with torch.no_grad():
        for p in blk.body.parameters():
            p.zero_()
    x = torch.randn(1, 4, 6, 6)
    assert torch.equal(blk(x), x)  # body zero -> identity: the skip is there
    g = SRResNet(ngf=8, n_blocks=3)
    assert g(torch.randn(2, 3, 6, 10)).shape == (2, 3, 24, 40)
    assert [m.kernel_size for m in (g.head[0], g.tail)] == [(9, 9), (9, 9)]
    assert sum(isinstance(m, ResidualBlock) for m in g.modules()) == 3
    assert sum(isinstance(m, SubPixelUpsample) for m in g.modules()) == 2
    assert isinstance(g.head[1], nn.PReLU)
    assert SRResNet(ngf=4, n_blocks=1, scale=2)(torch.randn(1, 3, 4, 4)).shape == (1, 3, 8, 8)
    with pytest.raises(CourseError, match="power of 2"):
        SRResNet(scale=3)
    # the long skip: with the body zeroed, the output is a function of the front end only
    with torch.no_grad():
        for p in g.body.parameters():
            p.zero_()
    h = g.head(torch.ones(1, 3, 6, 6))
    assert torch.allclose(g(torch.ones(1, 3, 6, 6)), g.tail(g.upsample(h)))


def test_discriminator_strides_widths_and_head():
    d = SRDiscriminator(ndf=4)
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 4, 8, 8, 16, 16, 32, 32]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    linears = [m for m in d.head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(32, 64), (64, 1)]
    assert d(torch.randn(3, 3, 96, 96)).shape == (3, 1) and d(torch.randn(1, 3, 40, 56)).shape == (
        1,
        1,
    )


# ---------------------------------------------------------------- losses and the step


def test_losses_by_hand_and_the_detach():
    logits = torch.tensor([[0.0], [2.0]])
    assert torch.isclose(adversarial_loss(logits, True), -torch.log(torch.sigmoid(logits)).mean())
    assert torch.isclose(
        adversarial_loss(logits, False), -torch.log(1 - torch.sigmoid(logits)).mean()
    )
    a, b = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    assert torch.isclose(pixel_mse(a, b), torch.tensor(0.25))
    torch.manual_seed(0)
    netD = SRDiscriminator(ndf=2)
    real_B = torch.rand(2, 3, 16, 16) * 2 - 1
    fake_B = (real_B + 0.2 * torch.randn_like(real_B)).requires_grad_(True)
    total, content, adv = srgan_generator_loss(netD, fake_B, real_B)
    assert torch.isclose(total, content + LAMBDA_ADV * adv) and LAMBDA_ADV == 1e-3
    assert torch.isclose(adv, adversarial_loss(netD(fake_B), True))
    total.backward()
    assert fake_B.grad is not None and fake_B.grad.abs().sum() > 0
    fake_B.grad = None
    loss_D, d_real, d_fake = srgan_discriminator_loss(netD, fake_B, real_B)
    loss_D.backward()
    assert fake_B.grad is None  # the D step sends nothing into G
    assert torch.isclose(loss_D, d_real + d_fake)


def test_vgg54_loss_mechanics_with_random_weights(monkeypatch, tmp_path):
    torch.manual_seed(0)
    vgg = VGG54Loss(pretrained=False)
    assert (
        isinstance(vgg.features[-1], nn.ReLU)
        and sum(isinstance(m, nn.Conv2d) for m in vgg.features) == 16
    )
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert vgg(x, x).item() == 0
    y = (x + 0.3).requires_grad_(True)
    vgg.train()
    assert not vgg.features.training
    vgg(y, x).backward()
    assert y.grad.abs().sum() > 0 and all(p.grad is None for p in vgg.parameters())
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(CourseError, match="content_loss='mse'"):
        VGG54Loss(pretrained=True)


def tiny_nets(seed=0):
    torch.manual_seed(seed)
    return SRResNet(ngf=4, n_blocks=1), SRDiscriminator(ndf=2)


def test_step_adversarial_vs_content_alone():
    netG, netD = tiny_nets()
    optG = torch.optim.Adam(netG.parameters(), 1e-3)
    optD = torch.optim.Adam(netD.parameters(), 1e-3)
    real_A, real_B = torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    d0 = [p.clone() for p in netD.parameters()]
    out = sr_train_step(netG, netD, optG, optD, real_A, real_B, adversarial=False)
    assert (
        set(out) == set(LOSS_KEYS)
        and out["G_adv"] == out["D_real"] == 0
        and out["G_content"] == out["G_MSE"]
    )
    assert all(torch.equal(a, b) for a, b in zip(d0, netD.parameters()))  # netD untouched
    out = sr_train_step(netG, netD, optG, optD, real_A, real_B, lambda_adv=1e-3)
    assert out["G_adv"] > 0 and out["D_real"] > 0 and out["D_fake"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(d0, netD.parameters()))
    assert all(p.requires_grad for p in netD.parameters())  # restored after the G step


# ---------------------------------------------------------------- metrics


def test_sr_metrics_y_channel_and_border():
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (2, 40, 40, 3), dtype=np.uint8)
    y = luma_y(real[:1, :1, :1])
    r, g, b = (float(v) for v in real[0, 0, 0])
    assert np.isclose(y[0, 0, 0], 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)
    assert luma_y(real, 4).shape == (2, 32, 32)
    fake = real.copy()
    fake[:, :4] = 0  # damage only the cropped border
    assert np.all(np.isinf(psnr_y(real, fake, 4))) and np.allclose(ssim_y(real, fake, 4), 1)
    assert np.all(psnr_y(real, fake, 0) < 40)
    # a chroma-only change (Y kept) is invisible to the Y protocol
    s = sr_scores(real, real, 4)
    assert set(s) == {"psnr_y", "ssim_y"}
    up = bicubic_upscale(real[:, :10, :10], 4)
    assert up.shape == (2, 40, 40, 3) and up.dtype == np.uint8
    with pytest.raises(ValueError, match="leaves no pixels"):
        luma_y(real, 20)


def test_evaluate_sr_scores_model_and_bicubic(pairs_root):
    ds = SuperResolutionDataset(
        pairs_root / "val", half="A", scale=4, crop_size=32, train=False, progress=False
    )

    class Bicubic(nn.Module):  # a "network" that is the torch bicubic upscale
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return (
                torch.nn.functional.interpolate(
                    x, scale_factor=4, mode="bicubic", align_corners=False
                )
                + self.w
            )

    res = evaluate_sr(Bicubic(), ds, device="cpu", scale=4, progress=False)
    assert res["n_images"] == 4
    assert 15 < res["bicubic_psnr_y"] < 60 and abs(res["psnr_y"] - res["bicubic_psnr_y"]) < 2
    base = evaluate_sr(None, ds, scale=4, progress=False)
    assert base["bicubic_psnr_y"] == res["bicubic_psnr_y"] and np.isnan(base["psnr_y"])
    with pytest.raises(ValueError, match="upscale by scale=4"):
        evaluate_sr(nn.Conv2d(3, 3, 1), ds, scale=4, progress=False)


# ---------------------------------------------------------------- tiling and translate


def test_tiled_upscaling_matches_the_whole_image():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 48, 1), nn.PixelShuffle(4)
    ).eval()  # pointwise: tiles must agree exactly
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    with torch.no_grad():
        whole = net(x)
        tiled = _run_tiled(net, x, tile=12, overlap=4, batch_size=3, upscale=4)
    assert tiled.shape == whole.shape == (1, 3, 80, 112)
    assert torch.allclose(tiled, whole, atol=1e-5)


def test_translate_upscales_by_four(tmp_path):
    net = SRResNet(ngf=4, n_blocks=1).eval()
    Image.new("RGB", (30, 21), (120, 30, 200)).save(tmp_path / "small.png")
    Image.new("RGB", (70, 40), (10, 90, 20)).save(tmp_path / "large.png")
    out = translate(
        net,
        [tmp_path / "small.png", tmp_path / "large.png"],
        tmp_path / "out",
        device="cpu",
        size=24,
        scale=1.0,
        upscale=4,
        multiple=1,
        max_side=32,
        overlap=6,
        progress=False,
    )
    assert [Image.open(p).size for p in out] == [(120, 84), (280, 160)]


# ---------------------------------------------------------------- training on the seam and the CLI


def test_presets_and_recipe_checks():
    paper = config_from_preset("paper", model="srgan")
    assert (
        paper.ngf,
        paper.n_blocks,
        paper.ndf,
        paper.scale,
        paper.crop_size,
        paper.batch_size,
    ) == (64, 16, 64, 4, 96, 16)
    assert paper.lambda_adv == 1e-3 and paper.beta1 == 0.9 and paper.lr == 1e-4
    assert config_from_preset("cpu-quick", model="srgan").model == "srgan"
    with pytest.raises(CourseError, match="multiple of scale 4"):
        get_recipe(config_from_preset("cpu-quick", model="srgan", crop_size=90))
    with pytest.raises(CourseError, match="content_loss must be"):
        get_recipe(config_from_preset("cpu-quick", model="srgan", content_loss="l1"))
    with pytest.raises(CourseError, match="unknown preset 'cpu' for --model srgan"):
        config_from_preset("cpu", model="srgan")


def sr_smoke(pairs_root, **kw):
    return config_from_preset("smoke", model="srgan", dataset=None, data=str(pairs_root), **kw)


def test_train_warmup_then_adversarial_and_checkpoint(pairs_root, tmp_path):
    run = tmp_path / "run"
    summary = train(sr_smoke(pairs_root, max_steps=6, warmup_fraction=0.5), run, progress=False)
    assert summary["step"] == 6
    log = read_log(run)
    assert [r["G_adv"] == 0 for r in log] == [True] * 3 + [
        False
    ] * 3  # content alone for the first half
    assert all(set(LOSS_KEYS) <= set(r) for r in log)
    assert (run / "samples" / "final.png").exists() and (run / "losses.png").stat().st_size > 0
    netG, cfg = generator_from_checkpoint(run / "checkpoints" / "latest.pt")
    assert isinstance(netG, SRResNet) and cfg.model == "srgan" and not netG.training
    assert netG(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 32, 32)
    with pytest.raises(CheckpointError, match="n_blocks: checkpoint 1 vs now 2"):
        train(sr_smoke(pairs_root, max_steps=8, n_blocks=2), run, resume=True, progress=False)
    # SRResNet: MSE alone, netD never trained
    res = train(
        sr_smoke(pairs_root, max_steps=2, lambda_adv=0.0), tmp_path / "srresnet", progress=False
    )
    assert res["step"] == 2 and all(
        r["G_adv"] == 0 and r["D_real"] == 0 for r in read_log(tmp_path / "srresnet")
    )


def test_cli_train_resume_eval_translate(pairs_root, tmp_path, capsys):
    """The CLI in this process (no interpreter start-up); test_pix2pixhd runs it as a subprocess."""
    from course_utils.cli import main

    run = tmp_path / "run"
    args = [
        "train",
        "--model",
        "srgan",
        "--data",
        str(pairs_root),
        "--preset",
        "smoke",
        "--out",
        str(run),
        "--quiet",
    ]
    assert main([*args, "--max-steps", "3"]) == 0
    assert "content loss mse" in capsys.readouterr().out
    ck = run / "checkpoints" / "latest.pt"
    assert main([*args, "--max-steps", "5", "--resume"]) == 0
    assert load_checkpoint(ck)["step"] == 5 and [r["step"] for r in read_log(run)] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert main(["eval", "--checkpoint", str(ck), "--data", str(pairs_root / "val"), "--json",
                 str(tmp_path / "m.json"), "--quiet"]) == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["n_images"] == 4 and set(m) == {
        "n_images",
        "psnr_y",
        "ssim_y",
        "bicubic_psnr_y",
        "bicubic_ssim_y",
    }
    # a folder of A|B pairs given to eval is scored as whole images, like --data in training
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(ck),
                "--data",
                str(pairs_root / "train"),
                "--max-images",
                "2",
                "--save-images",
                str(tmp_path / "ev"),
                "--quiet",
            ]
        )
        == 0
    )
    first = np.asarray(
        Image.open(sorted((tmp_path / "ev").iterdir())[0])
    )  # bicubic | netG | real, 32 px crops
    whole = np.asarray(Image.open(pairs_root / "train" / "1.jpg").convert("RGB"))
    assert first.shape == (32, 96, 3) and np.array_equal(
        first[:, 64:], whole[16:48, 48:80]
    )  # centre of the whole
    Image.new("RGB", (300, 90), (50, 120, 70)).save(
        tmp_path / "photo.png"
    )  # larger than max_side: tiled
    assert (
        main(
            [
                "translate",
                "--checkpoint",
                str(ck),
                str(tmp_path / "photo.png"),
                str(pairs_root / "val" / "1.jpg"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    assert sorted(Image.open(p).size for p in (tmp_path / "out").iterdir()) == [
        (512, 256),
        (1200, 360),
    ]
    capsys.readouterr()
    assert (
        main(
            [
                "train",
                "--model",
                "srgan",
                "--data",
                str(pairs_root / "nowhere"),
                "--preset",
                "smoke",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "no train/ folder" in capsys.readouterr().err

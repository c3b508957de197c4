"""Pix2PixHD (Wang et al., CVPR 2018): networks, losses, the coarse-to-fine step, and the CLI on the
seam."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from helpers import ENV, cli, read_log
from torch import nn

from course_utils.errors import CheckpointError, CourseError
from course_utils.losses.gan import lsgan_loss
from course_utils.losses.perceptual import VGGLoss, feature_matching_loss
from course_utils.models.pix2pixhd import (
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    define_D_hd,
    define_G_hd,
    downsample,
    instance_edges,
    vgg19_weights_available,
)
from course_utils.training.checkpoint import generator_from_checkpoint, load_checkpoint
from course_utils.training.config import config_from_preset
from course_utils.training.loop import train
from course_utils.training.recipes import get_recipe, recipe_class
from course_utils.training.recipes.pix2pixhd import LOSS_KEYS, hd_train_step, stage_at


def tiny_G(seed=0):
    torch.manual_seed(seed)
    return define_G_hd(
        ngf_global=8, ngf_local=4, n_downsample_global=2, n_blocks_global=1, n_blocks_local=1
    )


def tiny_D(seed=0, num_D=3):
    torch.manual_seed(seed)
    return define_D_hd(ndf=4, n_layers=3, num_D=num_D)


# ---------------------------------------------------------------------- generators


def test_global_generator_shapes_and_range():
    g1 = GlobalGenerator(ngf=8, n_downsample=3, n_blocks=2)
    x = torch.randn(2, 3, 64, 48)
    assert g1.features(x).shape == (2, 8, 64, 48)
    y = g1(x)
    assert y.shape == (2, 3, 64, 48) and y.abs().max() <= 1
    # reflection padding, strided convs, residual blocks, transposed convs, instance norm, tanh
    kinds = {type(m) for m in g1.modules()}
    assert {nn.ReflectionPad2d, nn.ConvTranspose2d, nn.InstanceNorm2d, nn.Tanh} <= kinds
    assert sum(isinstance(m, nn.Conv2d) and m.stride == (2, 2) for m in g1.modules()) == 3


def test_local_enhancer_adds_g1_features_to_g2_front():
    G = tiny_G().eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        want = G.back(G.front(x) + G.global_net.features(downsample(x)))
        assert torch.allclose(G(x), want)
        # the fusion is an addition: a constant added to G1's map shifts G2's input by that constant
        c = torch.full((1, 8, 16, 16), 0.7)
        class Constant(nn.Module):
            def forward(self, h):
                return c

        body, G.global_net.body = G.global_net.body, Constant()
        assert torch.allclose(G(x), G.back(G.front(x) + c))
        G.global_net.body = body
    assert G.num_downs == 3 and G(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)
    assert G(torch.randn(1, 3, 16, 16), stage="global").shape == (
        1,
        3,
        16,
        16,
    )  # G1 alone, half resolution
    with pytest.raises(CourseError, match="ngf_global = 2 \\* ngf_local"):
        LocalEnhancer(ngf_global=16, ngf_local=4)


def test_frozen_global_stage_gives_g1_no_gradient():
    G = tiny_G()
    G(torch.randn(1, 3, 32, 32), stage="local-frozen-global").mean().backward()
    assert all(p.grad is None for p in G.global_net.parameters())
    assert all(p.grad is not None for p in G.front.parameters())


# ---------------------------------------------------------------------- discriminator and losses


def test_multiscale_discriminator_scales_and_features():
    D = tiny_D().eval()
    a, b = torch.randn(2, 3, 128, 128), torch.randn(2, 3, 128, 128)
    out = D(a, b)
    assert len(out) == 3 and all(len(o) == 5 for o in out)
    assert [tuple(o[-1].shape) for o in out] == [(2, 1, 14, 14), (2, 1, 6, 6), (2, 1, 2, 2)]
    assert [tuple(t.shape[1:2]) for t in out[0][:-1]] == [(4,), (8,), (16,), (32,)]
    # scale k sees the pair average-pooled (3x3, stride 2) k times
    pooled_a = F.avg_pool2d(
        F.avg_pool2d(a, 3, 2, 1, count_include_pad=False), 3, 2, 1, count_include_pad=False
    )
    pooled_b = F.avg_pool2d(
        F.avg_pool2d(b, 3, 2, 1, count_include_pad=False), 3, 2, 1, count_include_pad=False
    )
    for got, want in zip(out[2], D.nets[2](pooled_a, pooled_b)):
        assert torch.allclose(got, want, atol=1e-6)
    # three different PatchGANs of the same architecture
    assert not torch.equal(D.nets[0].blocks[0][0].weight, D.nets[1].blocks[0][0].weight)
    assert isinstance(D, MultiscaleDiscriminator)


def test_lsgan_loss_by_hand():
    outs = [
        [torch.zeros(1, 2, 2, 2), torch.tensor([[[[1.0, 0.0], [0.5, 2.0]]]])],
        [torch.full((1, 1, 1, 1), 3.0)],
    ]
    # real: mean((s - 1)^2) per scale, summed: (0 + 1 + 0.25 + 1) / 4 + 4
    assert lsgan_loss(outs, True).item() == pytest.approx(2.25 / 4 + 4)
    assert lsgan_loss(outs, False).item() == pytest.approx((1 + 0 + 0.25 + 4) / 4 + 9)


def test_feature_matching_detaches_real_sums_layers_and_scales_and_weighs():
    torch.manual_seed(0)
    real = [[torch.randn(1, 2, 4, 4, requires_grad=True) for _ in range(3)] for _ in range(2)]
    fake = [[torch.randn(1, 2, 4, 4, requires_grad=True) for _ in range(3)] for _ in range(2)]
    loss = feature_matching_loss(real, fake, lambda_FM=10.0)
    # the last element of each scale is the patch score: not matched
    want = 10.0 * sum(
        (f - r).abs().mean() for rs, fs in zip(real, fake) for r, f in zip(rs[:-1], fs[:-1])
    )
    assert loss.item() == pytest.approx(want.item(), rel=1e-6)
    assert feature_matching_loss(real, fake, lambda_FM=1.0).item() == pytest.approx(
        want.item() / 10, rel=1e-6
    )
    loss.backward()
    assert all(t.grad is None for rs in real for t in rs), (
        "the real features must be detached targets"
    )
    assert all(f.grad is not None for fs in fake for f in fs[:-1]) and all(
        fs[-1].grad is None for fs in fake
    )
    with pytest.raises(CourseError, match="same discriminator"):
        feature_matching_loss(real, fake[:1])


def test_vgg_loss_mechanics_with_random_weights():
    torch.manual_seed(0)
    vgg = VGGLoss(pretrained=False)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    fake = (x + 0.3 * torch.randn_like(x)).requires_grad_(True)
    real = x.clone().requires_grad_(True)
    assert vgg(x, x).item() == 0
    loss = vgg(fake, real)
    assert loss.item() > 0
    loss.backward()
    assert fake.grad is not None and real.grad is None
    assert all(not p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.features.training


def test_vgg_loss_without_weights_says_how_to_get_them():
    if vgg19_weights_available():
        pytest.skip("the VGG19 weights are in the torch cache here")
    with pytest.raises(CourseError, match="VGG19 weights not found"):
        VGGLoss(pretrained=True)


def test_instance_edges_worked_example():
    ids = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 2], [0, 0, 2, 2]])
    want = torch.tensor([[0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 0]], dtype=torch.float)
    assert torch.equal(instance_edges(ids), want)
    assert torch.equal(instance_edges(ids[None, None]), want[None, None])
    with pytest.raises(CourseError, match="integers"):
        instance_edges(ids.float())


# ---------------------------------------------------------------------- coarse-to-fine step


def test_stage_schedule():
    assert [stage_at(p, 0.4, 0.1) for p in (0.0, 0.39, 0.4, 0.49, 0.5, 1.0)] == [
        "global", "global", "local-frozen-global", "local-frozen-global", "joint", "joint"]


@pytest.mark.parametrize("stage", ["global", "local-frozen-global", "joint"])
def test_each_stage_trains_the_right_parameters(stage):
    G, D = tiny_G(), tiny_D(num_D=2)
    optG = torch.optim.Adam(G.parameters(), lr=1e-2)
    optD = torch.optim.Adam(D.parameters(), lr=1e-2)
    before = {n: p.detach().clone() for n, p in G.named_parameters()}
    d_before = [p.detach().clone() for p in D.parameters()]
    torch.manual_seed(1)
    real_A, real_B = torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 3, 128, 128) * 2 - 1
    losses = hd_train_step(G, D, optG, optD, real_A, real_B, stage=stage, lambda_FM=10.0)
    assert set(losses) == set(LOSS_KEYS) and losses["G_VGG"] == 0 and losses["G_FM"] > 0
    changed = {n for n, p in G.named_parameters() if not torch.equal(p, before[n])}
    g1 = {n for n in before if n.startswith("global_net.")}
    head = {n for n in g1 if n.startswith("global_net.head.")}
    if stage == "global":
        assert changed == g1
    elif stage == "local-frozen-global":
        assert changed == set(before) - g1
    else:
        assert changed == set(before) - head
    assert any(not torch.equal(a, b) for a, b in zip(d_before, D.parameters()))
    with pytest.raises(CourseError, match="stage must be"):
        hd_train_step(G, D, optG, optD, real_A, real_B, stage="local")


# ---------------------------------------------------------------------- presets and the seam


def test_presets_and_recipe():
    paper = config_from_preset("paper", model="pix2pixhd")
    assert (
        paper.ngf,
        paper.ngf_local,
        paper.n_blocks_global,
        paper.n_blocks_local,
        paper.num_D,
    ) == (64, 32, 9, 3, 3)
    assert paper.lambda_FM == 10 and paper.n_downsample_global == 4 and paper.eval_size == 512
    quick = config_from_preset("cpu-quick", model="pix2pixhd")
    assert quick.load_size == 512 and quick.eval_size == 512 and quick.model == "pix2pixhd"
    assert config_from_preset("cpu-quick").model == "pix2pix"
    with pytest.raises(CourseError, match="unknown preset 'cpu' for --model pix2pixhd"):
        config_from_preset("cpu", model="pix2pixhd")
    with pytest.raises(CourseError, match="unknown model"):
        recipe_class("stargan")
    with pytest.raises(CourseError, match="multiple of 16"):
        get_recipe(config_from_preset("cpu-quick", model="pix2pixhd", crop_size=100))
    with pytest.raises(CourseError, match="twice ngf_local"):
        get_recipe(config_from_preset("cpu-quick", model="pix2pixhd", ngf_local=32))


def hd_smoke(pairs_root, **kw):
    return config_from_preset("smoke", model="pix2pixhd", dataset=None, data=str(pairs_root), **kw)


def test_train_run_folder_and_checkpoint(pairs_root, tmp_path):
    run = tmp_path / "run"
    summary = train(hd_smoke(pairs_root, max_steps=6), run, progress=False)
    assert summary["step"] == 6
    log = read_log(run)
    assert [r["step"] for r in log] == list(range(1, 7)) and all(
        set(LOSS_KEYS) <= set(r) for r in log
    )
    assert (run / "losses.png").stat().st_size > 0 and (run / "samples" / "final.png").exists()
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert ckpt["config"]["model"] == "pix2pixhd" and ckpt["step"] == 6
    with pytest.raises(CheckpointError, match="ngf_local: checkpoint 4 vs now 8"):
        train(
            hd_smoke(pairs_root, max_steps=8, ngf=16, ngf_local=8), run, resume=True, progress=False
        )
    with pytest.raises(CheckpointError, match="model: checkpoint 'pix2pixhd' vs now 'pix2pix'"):
        train(
            config_from_preset("smoke", dataset=None, data=str(pairs_root), max_steps=8),
            run,
            resume=True,
            progress=False,
        )
    netG, cfg = generator_from_checkpoint(run / "checkpoints" / "latest.pt")
    assert isinstance(netG, LocalEnhancer) and cfg.model == "pix2pixhd" and not netG.training
    assert netG(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)




def test_cli_train_eval_translate(pairs_root, tmp_path):
    run = tmp_path / "run"
    res = cli(
        "train",
        "--model",
        "pix2pixhd",
        "--data",
        pairs_root,
        "--preset",
        "smoke",
        "--max-steps",
        4,
        "--out",
        run,
        "--quiet",
    )
    assert res.returncode == 0, res.stderr
    assert "model pix2pixhd" in res.stdout
    assert json.loads(res.stdout.strip().splitlines()[-1])["step"] == 4
    ck = run / "checkpoints" / "latest.pt"
    res = cli(
        "train",
        "--model",
        "pix2pixhd",
        "--data",
        pairs_root,
        "--preset",
        "smoke",
        "--max-steps",
        6,
        "--out",
        run,
        "--quiet",
        "--resume",
    )
    assert res.returncode == 0, res.stderr
    assert load_checkpoint(ck)["step"] == 6
    res = cli(
        "eval",
        "--checkpoint",
        ck,
        "--data",
        pairs_root / "val",
        "--json",
        tmp_path / "m.json",
        "--quiet",
    )
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n_images"] == 4 and 0 <= metrics["acc_delta10"] <= 1
    res = cli(
        "translate", "--checkpoint", ck, pairs_root / "val" / "1.jpg", "--out", tmp_path / "out"
    )
    assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "out").iterdir())) == 1
    bad = cli(
        "train",
        "--model",
        "pix2pixhd",
        "--data",
        pairs_root,
        "--preset",
        "cpu",
        "--out",
        tmp_path / "x",
    )
    assert bad.returncode == 2 and "unknown preset 'cpu' for --model pix2pixhd" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_old_pix2pix_checkpoints_still_load(pairs_root, tmp_path):
    """Checkpoints written before the seam have no "model" in their config: they are Pix2Pix."""
    run = tmp_path / "run"
    train(
        config_from_preset("smoke", dataset=None, data=str(pairs_root), max_steps=2),
        run,
        progress=False,
    )
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    del ckpt["config"]["model"]
    netG, cfg = generator_from_checkpoint(ckpt)
    assert cfg.model == "pix2pix" and netG(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)


@pytest.mark.slow
def test_ddp_two_cpu_processes_through_all_stages(pairs_root, tmp_path):
    run = tmp_path / "ddp"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "course_utils.cli",
            "train",
            "--model",
            "pix2pixhd",
            "--data",
            str(pairs_root),
            "--preset",
            "smoke",
            "--max-steps",
            "6",
            "--save-every",
            "3",
            "--out",
            str(run),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert ckpt["world_size"] == 2 and ckpt["step"] == 6
    assert all(torch.isfinite(v).all() for v in ckpt["netG"].values())

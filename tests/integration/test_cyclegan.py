"""CycleGAN (Zhu et al. 2017): losses, the pool, one step, unpaired batches on the seam, and the
CLI."""

from __future__ import annotations

import json
import random

import pytest
import torch
import torch.nn.functional as F
from helpers import cli, read_log

from course_utils.errors import CourseError
from course_utils.evaluation.evaluate import translate
from course_utils.losses.gan import lsgan
from course_utils.losses.pixel import cycle_consistency_loss, identity_loss
from course_utils.models import UnetGenerator
from course_utils.models.cyclegan import (
    CycleGANGenerators,
    PatchGAN,
    define_cyclegan,
    define_G_cycle,
)
from course_utils.models.pix2pixhd import GlobalGenerator
from course_utils.training.checkpoint import generator_from_checkpoint, load_checkpoint
from course_utils.training.config import config_from_preset
from course_utils.training.loop import train
from course_utils.training.recipes import get_recipe, recipe_class
from course_utils.training.recipes.cyclegan import LOSS_KEYS, ImagePool, cyclegan_step


def tiny(seed=0):
    torch.manual_seed(seed)
    return define_cyclegan("unet_32", ngf=4, ndf=4, n_layers_D=2)


def test_networks():
    netG, netD = tiny()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(netG(x), netG.G_AB(x)) and netG.num_downs == 5
    assert netD(x).shape == netD.D_B(x).shape == (2, 1, 6, 6) and torch.equal(
        netD(x, "A"), netD.D_A(x)
    )
    assert not any(
        isinstance(m, torch.nn.Dropout) for m in netG.modules()
    )  # no noise input in CycleGAN
    assert isinstance(netG.G_BA, UnetGenerator) and isinstance(netD.D_A, PatchGAN)
    assert not torch.equal(netG.G_AB.model.down[0].weight, netG.G_BA.model.down[0].weight)
    res = define_G_cycle("resnet_9blocks", ngf=8)
    assert (
        isinstance(res, GlobalGenerator)
        and res.num_downs == 2
        and res(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    )
    with pytest.raises(CourseError, match="resnet_9blocks"):
        define_G_cycle("resnet9")
    with pytest.raises(CourseError, match="domain"):
        netD(x, "C")


def test_losses_by_hand():
    a, b = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    rec_A, rec_B = a + 0.5, b - 0.25
    assert cycle_consistency_loss(a, rec_A, b, rec_B).item() == pytest.approx(10 * (0.5 + 0.25))
    assert cycle_consistency_loss(a, rec_A, b, rec_B, lambda_cyc=1).item() == pytest.approx(0.75)
    # identity: weight lambda_idt * lambda_cyc = 5 by default
    assert identity_loss(a, a + 0.1, b, b + 0.2).item() == pytest.approx(5 * 0.3)
    assert identity_loss(
        a, a + 0.1, b, b + 0.2, lambda_cyc=2, lambda_idt=1
    ).item() == pytest.approx(0.6)
    assert lsgan(torch.tensor([0.0, 2.0]), True).item() == pytest.approx(1.0)
    assert lsgan(torch.tensor([0.0, 2.0]), False).item() == pytest.approx(2.0)


def test_image_pool():
    random.seed(0)
    pool = ImagePool(3)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: returned as is
    seen = torch.cat([pool.query(torch.full((1, 1, 1, 1), 10.0 + i)) for i in range(200)]).flatten()
    old = (seen < 10).sum().item()
    assert 0 < old <= 3 and len(pool.images) == 3 and 60 < (seen >= 10).sum().item()
    x = torch.randn(2, 1, 1, 1, requires_grad=True)
    assert ImagePool(0).query(x) is x and not ImagePool(2).query(x).requires_grad
    with pytest.raises(CourseError, match=">= 0"):
        ImagePool(-1)


def test_step_matches_a_hand_written_step():
    netG, netD = tiny()
    ref_G, ref_D = tiny()
    torch.manual_seed(1)
    real_A, real_B = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    optG, optD = (
        torch.optim.Adam(netG.parameters(), 1e-3),
        torch.optim.Adam(netD.parameters(), 1e-3),
    )
    losses = cyclegan_step(netG.G_AB, netG.G_BA, netD.D_A, netD.D_B, optG, optD, real_A, real_B)
    assert set(losses) == set(LOSS_KEYS) and all(v > 0 for v in losses.values())
    # by hand, with SGD-free bookkeeping: the same gradients reach the same parameters
    G_AB, G_BA, D_A, D_B = ref_G.G_AB, ref_G.G_BA, ref_D.D_A, ref_D.D_B
    fake_B, fake_A = G_AB(real_A), G_BA(real_B)
    mse = lambda p, t: F.mse_loss(p, torch.full_like(p, t))  # noqa: E731
    loss_G = (mse(D_B(fake_B), 1) + mse(D_A(fake_A), 1)
              + 10 * (F.l1_loss(G_BA(fake_B), real_A) + F.l1_loss(G_AB(fake_A), real_B))
              + 5 * (F.l1_loss(G_AB(real_B), real_B) + F.l1_loss(G_BA(real_A), real_A)))
    assert loss_G.item() == pytest.approx(
        losses["G_GAN"] + losses["G_cyc"] + losses["G_idt"], rel=1e-5
    )
    refG_opt = torch.optim.Adam(ref_G.parameters(), 1e-3)
    refG_opt.zero_grad()
    loss_G.backward()
    refG_opt.step()
    for p, q in zip(netG.parameters(), ref_G.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    # the D step saw the fakes of the pre-update generators, detached; the G step left D unchanged
    ref_D.zero_grad()
    d = 0.5 * (mse(D_A(real_A), 1) + mse(D_A(fake_A.detach()), 0)) + 0.5 * (
        mse(D_B(real_B), 1) + mse(D_B(fake_B.detach()), 0)
    )
    assert d.item() == pytest.approx(losses["D_A"] + losses["D_B"], rel=1e-5)
    refD_opt = torch.optim.Adam(ref_D.parameters(), 1e-3)
    d.backward()
    refD_opt.step()
    for p, q in zip(netD.parameters(), ref_D.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    # no identity term when lambda_idt == 0
    assert cyclegan_step(netG.G_AB, netG.G_BA, netD.D_A, netD.D_B, optG, optD, real_A, real_B,
                         lambda_idt=0)["G_idt"] == 0


def test_presets_and_recipe():
    paper = config_from_preset("paper", model="cyclegan")
    assert (paper.netG, paper.lambda_cyc, paper.lambda_idt, paper.pool_size, paper.batch_size) == (
        "resnet_9blocks", 10, 0.5, 50, 1)
    quick = config_from_preset("cpu-quick", model="cyclegan")
    pq = config_from_preset("cpu-quick")
    # the same generator and data as Pix2Pix's cpu-quick; netD keeps width 32 (Pix2Pix's 16 was
    # measured for Pix2Pix only)
    assert (
        quick.netG,
        quick.ngf,
        quick.load_size,
        quick.crop_size,
        quick.eval_size,
        quick.batch_size,
    ) == (pq.netG, pq.ngf, pq.load_size, pq.crop_size, pq.eval_size, pq.batch_size)
    assert (quick.ndf, pq.ndf) == (32, 16)
    assert quick.dropout == 0 and quick.norm == "instance"
    assert recipe_class("cyclegan").unpaired and not recipe_class("pix2pix").unpaired
    with pytest.raises(CourseError, match="lambda_cyc and lambda_idt must be >= 0"):
        get_recipe(config_from_preset("smoke", model="cyclegan", lambda_cyc=-1.0))
    with pytest.raises(CourseError, match="identity loss needs"):
        get_recipe(config_from_preset("smoke", model="cyclegan", out_channels=1))


def test_train_draws_B_independently_and_checkpoints(pairs_root, tmp_path, monkeypatch):
    from course_utils.training.recipes import cyclegan as recipe_module

    seen = []
    real_step = recipe_module.cyclegan_step

    def spy(*args, **kw):
        seen.append((args[6].clone(), args[7].clone()))
        return real_step(*args, **kw)

    monkeypatch.setattr(recipe_module, "cyclegan_step", spy)
    run = tmp_path / "run"
    cfg = config_from_preset(
        "smoke",
        model="cyclegan",
        dataset=None,
        data=str(pairs_root),
        max_steps=6,
        crop_size=64,
        flip=False,
    )
    assert train(cfg, run, progress=False)["step"] == 6
    # with whole 64 px tiles and no flip, each real_A/real_B is an exact image of the training set:
    # in a paired loop B would be A's partner; here most are not
    from course_utils.data.datasets import PairedImageDataset

    ds = PairedImageDataset(pairs_root / "train", load_size=64, crop_size=64, train=False)
    pairs = {i: (ds[i]["real_A"], ds[i]["real_B"]) for i in range(len(ds))}

    def index(x, k):
        return next(i for i, p in pairs.items() if torch.allclose(p[k], x, atol=1e-6))

    matched = [(index(a, 0), index(b, 1)) for A, B in seen for a, b in zip(A, B)]
    assert sum(i == j for i, j in matched) <= 3 and len({j for _, j in matched}) > 4
    log = read_log(run)
    assert [r["step"] for r in log] == list(range(1, 7)) and all(
        set(LOSS_KEYS) <= set(r) for r in log
    )
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert ckpt["config"]["model"] == "cyclegan" and any(
        k.startswith("G_BA.") for k in ckpt["netG"]
    )
    netG, cfg2 = generator_from_checkpoint(ckpt)
    assert isinstance(netG, CycleGANGenerators) and cfg2.model == "cyclegan" and not netG.training


def test_cli_train_resume_eval_translate(pairs_root, tmp_path):
    run = tmp_path / "run"
    train(
        config_from_preset(
            "smoke", model="cyclegan", dataset=None, data=str(pairs_root), max_steps=4
        ),
        run,
        progress=False,
    )
    args = [
        "train",
        "--model",
        "cyclegan",
        "--data",
        pairs_root,
        "--preset",
        "smoke",
        "--out",
        run,
        "--quiet",
    ]
    res = cli(*args, "--max-steps", 6, "--resume", "--lambda-idt", 0)
    assert res.returncode == 0, res.stderr
    assert (
        "model cyclegan" in res.stdout
        and json.loads(res.stdout.strip().splitlines()[-1])["step"] == 6
    )
    ck = run / "checkpoints" / "latest.pt"
    assert load_checkpoint(ck)["step"] == 6 and [r["step"] for r in read_log(run)] == list(
        range(1, 7)
    )
    assert all(r["G_idt"] == 0 for r in read_log(run)[4:]) and read_log(run)[0]["G_idt"] > 0
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
    netG, cfg = generator_from_checkpoint(ck)
    out = translate(
        netG,
        [pairs_root / "val" / "1.jpg"],
        tmp_path / "out",
        device="cpu",
        progress=False,
        **get_recipe(cfg).translate_options(),
    )
    assert len(out) == 1 and len(list((tmp_path / "out").iterdir())) == 1
    with pytest.raises(CourseError, match="unknown preset 'cpu' for --model cyclegan"):
        config_from_preset("cpu", model="cyclegan")

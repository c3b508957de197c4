"""SPADE / GauGAN (Park et al., CVPR 2019): the facades palette, the networks, the losses, the step,
the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import cli, jpeg, random_layout, read_log
from PIL import Image

from course_utils.cli import main
from course_utils.errors import CourseError, DataError
from course_utils.evaluation.evaluate import translate
from course_utils.evaluation.palette import (
    FACADES_CLASSES,
    FACADES_COLOURS,
    facades_palette,
    labels_to_rgb,
    snap_label_map,
)
from course_utils.evaluation.segmenter import segmentation_scores
from course_utils.losses.gan import hinge_d_loss, hinge_g_loss
from course_utils.losses.pixel import kl_divergence
from course_utils.models.spade import (
    SPADE,
    LabelEncoder,
    SPADEGenerator,
    SPADEResnetBlock,
    define_D_spade,
    define_G_spade,
)
from course_utils.paths import data_root
from course_utils.training.checkpoint import generator_from_checkpoint, load_checkpoint
from course_utils.training.config import config_from_preset
from course_utils.training.loop import train
from course_utils.training.recipes import get_recipe
from course_utils.training.recipes.spade import LOSS_KEYS, spade_train_step

K = len(FACADES_CLASSES)










def onehot(lab: np.ndarray) -> torch.Tensor:
    return F.one_hot(torch.as_tensor(lab), K).permute(0, 3, 1, 2).float()


def label_rgb(lab: np.ndarray) -> torch.Tensor:
    """Class maps ``(N, H, W)`` to RGB label maps ``(N, 3, H, W)`` in ``[-1, 1]``."""
    return torch.as_tensor(labels_to_rgb(lab)).permute(0, 3, 1, 2).float() / 127.5 - 1


# --------------------------------------------------------------------------- palette


def test_facades_palette_and_jpeg_snapping():
    pal = facades_palette()
    assert pal.class_names == FACADES_CLASSES and len(pal) == 12
    lab = np.stack([random_layout(64, 64, s) for s in range(3)])
    snapped = snap_label_map(np.stack([jpeg(im) for im in labels_to_rgb(lab)]))
    assert (
        snapped.shape == lab.shape and (snapped == lab).mean() > 0.95
    )  # JPEG bleeds only at borders
    assert (snap_label_map(labels_to_rgb(lab[0])) == lab[0]).all()  # exact colours: exact classes


def test_photo_given_as_labels_is_refused_clearly():
    photo = np.random.default_rng(0).integers(90, 200, size=(2, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(
        DataError, match=r"label map 0: .* does not look like a CMP facade label map"
    ):
        snap_label_map(photo)
    with pytest.raises(DataError, match="expected uint8 RGB"):
        snap_label_map(np.zeros((2, 8, 8), dtype=np.uint8))
    enc = LabelEncoder(FACADES_COLOURS)
    with pytest.raises(CourseError, match="does not look like a label map"):
        enc(torch.as_tensor(photo).permute(0, 3, 1, 2).float() / 127.5 - 1)


def test_palette_on_the_real_facades():
    """The committed colours on real files: near every label pixel, doors and shops low in the
    image."""
    folder = data_root() / "facades" / "train"
    if not folder.is_dir():
        pytest.skip("facades not fetched")
    files = sorted(folder.glob("*.jpg"))[::20]  # 20 files
    maps = np.stack([np.asarray(Image.open(f).convert("RGB"))[:, 256:] for f in files])
    lab = snap_label_map(maps)  # raises if a map is mostly far from the palette
    d = ((maps[..., None, :].astype(int) - np.array(FACADES_COLOURS)) ** 2).sum(-1).min(-1)
    assert (d <= 100**2).mean() > 0.9
    rows = np.broadcast_to(np.arange(256)[None, :, None], lab.shape)
    for name in ("door", "shop"):
        k = FACADES_CLASSES.index(name)
        assert rows[lab == k].mean() > 0.6 * 256, name
    assert rows[lab == FACADES_CLASSES.index("background")].mean() < 0.5 * 256


# --------------------------------------------------------------------------- SPADE layer and block


def test_label_encoder_one_hot():
    lab = np.stack([random_layout(16, 16, 3)])
    seg = LabelEncoder(FACADES_COLOURS)(label_rgb(lab))
    assert torch.equal(seg, onehot(lab))
    assert LabelEncoder(FACADES_COLOURS)(seg) is seg  # already one-hot


def test_spade_layer_is_equation_1_with_param_free_bn_and_nearest_resize():
    torch.manual_seed(0)
    layer = SPADE(5, K, hidden=7)
    assert not list(layer.param_free_norm.parameters())  # no learnable affine in the norm
    x = torch.randn(2, 5, 8, 8) * 3 + 1
    seg = onehot(np.stack([random_layout(32, 32, s) for s in (1, 2)]))
    out = layer(x, seg)
    small = seg[:, :, ::4, ::4]  # nearest resize from 32 to 8 takes every 4th pixel
    assert torch.equal(F.interpolate(seg, size=(8, 8), mode="nearest"), small)
    x_hat = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
        x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5
    )
    h = F.relu(layer.mlp_shared[0](small))
    want = x_hat * (1 + layer.mlp_gamma(h)) + layer.mlp_beta(h)
    assert torch.allclose(out, want, atol=1e-4)
    assert torch.allclose(layer(x, small), out, atol=1e-6)


def test_resblock_shortcut_learned_only_when_channels_change():
    torch.manual_seed(0)
    seg = onehot(np.stack([random_layout(8, 8, 1)]))
    same = SPADEResnetBlock(6, 6, K, hidden=4)
    assert not same.learned_shortcut and not hasattr(same, "conv_s")
    x = torch.randn(1, 6, 8, 8)
    assert torch.equal(same.shortcut(x, seg), x)
    diff = SPADEResnetBlock(6, 3, K, hidden=4)
    assert diff.learned_shortcut and diff.conv_s.bias is None and diff.conv_0.out_channels == 3
    assert diff(x, seg).shape == (1, 3, 8, 8)
    assert hasattr(diff.conv_0, "parametrizations")  # spectral norm
    assert not hasattr(SPADEResnetBlock(6, 3, K, 4, spectral=False).conv_0, "parametrizations")


def test_generator_shapes_vae_and_errors():
    torch.manual_seed(0)
    G = define_G_spade(FACADES_COLOURS, ngf=4, n_up=3, hidden=8)
    lab = np.stack([random_layout(32, 32, s) for s in (1, 2)])
    out = G(label_rgb(lab))
    assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1
    assert G(label_rgb(lab[:, :16, :])).shape == (2, 3, 16, 32)
    with pytest.raises(CourseError, match="multiples of 2\\*\\*n_up = 8"):
        G(label_rgb(lab[:, :12, :12]))
    Gv = define_G_spade(
        FACADES_COLOURS,
        ngf=4,
        n_up=3,
        hidden=8,
        use_vae=True,
        z_dim=6,
        nef=4,
        n_layers_E=2,
        crop_size=32,
    )
    fake, mu, logvar = Gv(label_rgb(lab), style=torch.rand(2, 3, 32, 32), return_stats=True)
    assert fake.shape == (2, 3, 32, 32) and mu.shape == logvar.shape == (2, 6)
    assert Gv(label_rgb(lab), z=torch.zeros(2, 6)).shape == (2, 3, 32, 32)
    with pytest.raises(CourseError, match="no style encoder"):
        G.encode(out)
    assert isinstance(G, SPADEGenerator)


def test_kl_and_hinge_losses_by_hand():
    assert kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0
    assert torch.isclose(kl_divergence(torch.ones(1, 2), torch.zeros(1, 2)), torch.tensor(1.0))
    s1, s2 = torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([[-3.0]])
    # real: mean(relu(1 - s)) = (0 + 0.5 + 2) / 3 and relu(1 + 3) = 4 -> averaged over the 2 scales
    assert torch.isclose(hinge_d_loss([[s1], [s2]], True), torch.tensor((2.5 / 3 + 4) / 2))
    assert torch.isclose(hinge_d_loss([s1, s2], False), torch.tensor(((3 + 1.5 + 0) / 3 + 0) / 2))
    assert torch.isclose(hinge_g_loss([[s1], [s2]]), torch.tensor((-1.5 / 3 + 3) / 2))


def test_discriminator_spectral_norm_and_step_trains_both():
    torch.manual_seed(0)
    D = define_D_spade(K + 3, ndf=4, n_layers=2, num_D=2)
    assert all(hasattr(net.blocks[1][0], "parametrizations") for net in D.nets)
    assert not hasattr(D.nets[0].blocks[0][0], "parametrizations")
    G = define_G_spade(FACADES_COLOURS, ngf=4, n_up=3, hidden=8)
    cfg = config_from_preset("smoke", model="spade")
    optG, optD = get_recipe(cfg).make_optimizers(G, D)
    assert optG.param_groups[0]["lr"] == cfg.lr / 2 and optD.param_groups[0]["lr"] == cfg.lr * 2
    assert optG.param_groups[0]["betas"] == (0.0, 0.9)
    lab = np.stack([random_layout(32, 32, s) for s in (1, 2)])
    before_G, before_D = G.conv_img.weight.clone(), D.nets[0].blocks[0][0].weight.clone()
    losses = spade_train_step(G, D, optG, optD, label_rgb(lab), torch.rand(2, 3, 32, 32) * 2 - 1)
    assert set(losses) == set(LOSS_KEYS) and all(np.isfinite(v) for v in losses.values())
    assert losses["G_KLD"] == 0 and losses["G_FM"] > 0
    assert not torch.equal(G.conv_img.weight, before_G) and not torch.equal(
        D.nets[0].blocks[0][0].weight, before_D
    )


# --------------------------------------------------------------------------- presets, loop, CLI


def test_presets():
    paper = config_from_preset("paper", model="spade")
    assert (paper.ngf, paper.n_up, paper.spade_hidden, paper.num_D, paper.n_layers_D) == (
        64,
        5,
        128,
        2,
        4,
    )
    assert (
        paper.direction == "BtoA"
        and paper.lambda_FM == 10
        and paper.beta1 == 0
        and paper.crop_size == 256
    )
    quick = config_from_preset("cpu-quick", model="spade")
    assert quick.eval_size % 2**quick.n_up == 0 and quick.model == "spade"
    with pytest.raises(CourseError, match="multiple of 2 \\*\\* n_up = 32"):
        get_recipe(config_from_preset("cpu-quick", model="spade", crop_size=100))
    with pytest.raises(CourseError, match="eval_size .* must equal"):
        get_recipe(config_from_preset("cpu-quick", model="spade", use_vae=True, eval_size=256))


def test_train_with_vae_and_generator_from_checkpoint(facades_root, tmp_path):
    run = tmp_path / "run"
    cfg = config_from_preset(
        "smoke", model="spade", dataset=None, data=str(facades_root), use_vae=True
    )
    assert train(cfg, run, progress=False)["step"] == 4
    log = read_log(run)
    assert [r["step"] for r in log] == [1, 2, 3, 4] and all(r["G_KLD"] >= 0 for r in log)
    netG, cfg2 = generator_from_checkpoint(run / "checkpoints" / "latest.pt")
    assert cfg2.model == "spade" and netG.use_vae and not netG.training
    assert netG.encode(torch.zeros(1, 3, 32, 32))[0].shape == (1, 8)


def test_cli_train_resume_eval_translate(facades_root, tmp_path):
    run = tmp_path / "run"
    res = cli(
        "train",
        "--model",
        "spade",
        "--data",
        facades_root,
        "--preset",
        "smoke",
        "--out",
        run,
        "--quiet",
    )
    assert res.returncode == 0, res.stderr
    assert (
        "model spade" in res.stdout and json.loads(res.stdout.strip().splitlines()[-1])["step"] == 4
    )
    ck = run / "checkpoints" / "latest.pt"
    cfg = config_from_preset(
        "smoke", model="spade", dataset=None, data=str(facades_root), max_steps=6
    )
    assert train(cfg, run, resume=True, progress=False)["step"] == 6
    assert load_checkpoint(ck)["step"] == 6 and [r["step"] for r in read_log(run)] == list(
        range(1, 7)
    )
    assert main(["eval", "--checkpoint", str(ck), "--data", str(facades_root / "val"), "--json",
                 str(tmp_path / "m.json"), "--quiet"]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["n_images"] == 4
    label = tmp_path / "label.png"
    Image.fromarray(labels_to_rgb(random_layout(48, 40, 7))).save(label)
    netG, _ = generator_from_checkpoint(ck)
    (out,) = translate(netG, [label], tmp_path / "out", device="cpu", size=32)
    assert Image.open(out).size == (40, 48)
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(90, 200, (32, 32, 3), dtype=np.uint8)).save(
        photo
    )
    with pytest.raises(CourseError, match="does not look like a label map"):
        translate(netG, [photo], tmp_path / "out2", device="cpu", size=32)


# --------------------------------------------------------------------------- the segmentation score


def test_segmentation_scores_by_hand():
    target = np.array([[[0, 0, 1, 1]]])
    pred = np.array([[[0, 1, 1, 1]]])
    s = segmentation_scores(pred, target)
    assert s["pixel_accuracy"] == 0.75 and s["mean_class_accuracy"] == 0.75
    assert np.isclose(s["mean_iou"], (1 / 2 + 2 / 3) / 2) and s["iou"]["door"] is None


def test_segmenter_cache_and_cli(facades_root, tmp_path, monkeypatch):
    """Trained once, cached with sha256 + settings, reloaded; a tampered file or new settings
    retrain it."""
    from course_utils.evaluation import segmenter

    tiny = segmenter.SegmenterSettings(netG="unet_32", ngf=4, steps=3, batch_size=2)
    monkeypatch.setattr(segmenter, "DEFAULT_SETTINGS", tiny)
    monkeypatch.setenv("PIX2PIX_CACHE_DIR", str(tmp_path / "cache"))
    photos, labels, _ = segmenter.load_facades(facades_root / "val")
    assert photos.shape == (4, 128, 128, 3) and labels.shape == (4, 128, 128) and labels.max() < K
    net, meta = segmenter.load_or_train_segmenter(root=tmp_path, progress=False)
    cached = json.loads((tmp_path / "cache" / "facades_segmenter.json").read_text())
    assert (
        cached["sha256"] == meta["sha256"]
        and cached["settings"]["steps"] == 3
        and cached["n_train_files"] == 8
    )
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, K, 32, 32)
    monkeypatch.setattr(
        segmenter, "train_segmenter", lambda *a, **k: pytest.fail("the cache was not used")
    )
    assert (
        segmenter.load_or_train_segmenter(root=tmp_path, progress=False)[1]["sha256"]
        == meta["sha256"]
    )
    monkeypatch.undo()
    monkeypatch.setattr(segmenter, "DEFAULT_SETTINGS", tiny)
    monkeypatch.setenv("PIX2PIX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PIX2PIX_DATA_ROOT", str(tmp_path))
    (tmp_path / "cache" / "facades_segmenter.pt").write_bytes(b"tampered")
    res = tmp_path / "real.json"
    assert (
        main(
            [
                "eval",
                "--metric",
                "segmentation",
                "--real",
                "--dataset",
                "facades",
                "--quiet",
                "--json",
                str(res),
            ]
        )
        == 0
    )
    real = json.loads(res.read_text())
    assert real["n_images"] == 4 and 0 <= real["mean_iou"] <= real["pixel_accuracy"] <= 1
    assert (
        len(real["segmenter"]["sha256"]) == 64
    )  # the tampered file was replaced by a retrained one
    assert (
        json.loads((tmp_path / "cache" / "facades_segmenter.json").read_text())["sha256"]
        == real["segmenter"]["sha256"]
    )
    cfg = config_from_preset("smoke", model="spade", dataset=None, data=str(facades_root))
    train(cfg, tmp_path / "run", progress=False)
    assert (
        main(
            [
                "eval",
                "--metric",
                "segmentation",
                "--checkpoint",
                str(tmp_path / "run/checkpoints/latest.pt"),
                "--dataset",
                "facades",
                "--quiet",
                "--json",
                str(res),
            ]
        )
        == 0
    )
    fake = json.loads(res.read_text())
    assert (
        fake["n_images"] == 4
        and fake["source"].endswith("latest.pt")
        and 0 <= fake["pixel_accuracy"] <= 1
    )
    assert main(["eval", "--metric", "segmentation", "--dataset", "maps", "--real"]) == 2

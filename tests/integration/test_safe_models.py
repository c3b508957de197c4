"""Models that travel safely: weights-only checkpoints, exported folders, published weights, Apple
GPUs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from course_utils import cli
from course_utils.device import pick_device
from course_utils.errors import DeviceError
from course_utils.training.checkpoint import generator_from_checkpoint, load_checkpoint
from course_utils.training.config import config_from_preset
from course_utils.training.execution import choose_execution
from course_utils.training.export import import_published
from course_utils.training.loop import train
from course_utils.training.precision import choose_precision


def run_cli(capsys, *args):
    """``pix2pix ARGS`` in this process: ``(exit code, stdout, stderr)``."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 6-step smoke run with an EMA of netG, on synthetic pairs."""
    from tests.conftest import write_pairs

    root = tmp_path_factory.mktemp("safe")
    write_pairs(root / "pairs" / "train", 12, seed=1)
    write_pairs(root / "pairs" / "val", 4, seed=2)
    cfg = config_from_preset("smoke", dataset=None, data=str(root / "pairs"), ema=0.9)
    train(cfg, root / "run", progress=False)
    return root


# --------------------------------------------------------------------------- safe loading


class _RunsCode:
    """Unpickling this calls ``exec``, which writes a marker file: what a malicious checkpoint
    does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def test_a_checkpoint_that_would_run_code_is_refused_by_every_command(
    trained_run, tmp_path, capsys
):
    marker = tmp_path / "code_ran"
    good = load_checkpoint(trained_run / "run" / "checkpoints" / "latest.pt")
    evil = tmp_path / "evil.pt"
    torch.save({**good, "extra": _RunsCode(marker)}, evil)
    run = tmp_path / "evil_run"
    (run / "checkpoints").mkdir(parents=True)
    torch.save({**good, "extra": _RunsCode(marker)}, run / "checkpoints" / "latest.pt")
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(image)
    data = trained_run / "pairs"
    commands = [
        ("eval", "--checkpoint", evil, "--data", data),
        ("eval", "--checkpoint", run, "--data", data),
        ("eval", "--metric", "segmentation", "--checkpoint", evil, "--data", data),
        ("translate", "--checkpoint", evil, image, "--out", tmp_path / "out"),
        ("export", evil, "--out", tmp_path / "exported"),
        ("import-weights", evil, "--netG", "unet_128", "--out", tmp_path / "imported"),
        ("train", "--data", data, "--preset", "smoke", "--out", run, "--resume", "--quiet"),
    ]
    for args in commands:
        code, _, err = run_cli(capsys, *args)
        assert code == 2, (args, err)
        assert err.count("\n") == 1 and err.startswith("pix2pix: error:"), (args, err)
        assert "run code" in err, (args, err)
        assert not marker.exists(), f"pix2pix {args[0]} ran code from the checkpoint"
    # the payload is real: a plain unpickler runs it
    pickle.loads(pickle.dumps(_RunsCode(marker)))
    assert marker.exists()


def test_checkpoints_are_weights_only_and_old_numpy_rng_states_still_load(trained_run, tmp_path):
    path = trained_run / "run" / "checkpoints" / "latest.pt"
    ckpt = torch.load(path, weights_only=True)  # the plain safe load, with no allow-list
    assert isinstance(ckpt["rng"][0]["numpy"][1], torch.Tensor)
    # a checkpoint written before the RNG state became tensors holds a NumPy array
    old = dict(ckpt)
    old["rng"] = [{**ckpt["rng"][0], "numpy": np.random.RandomState(3).get_state()}]
    old_path = tmp_path / "run" / "checkpoints" / "latest.pt"
    old_path.parent.mkdir(parents=True)
    torch.save(old, old_path)
    with pytest.raises(Exception, match="numpy"):
        torch.load(old_path, weights_only=True)
    loaded = load_checkpoint(old_path)
    assert loaded["rng"][0]["numpy"][0] == "MT19937"
    # ... and a run resumes from it, writing the new format
    (tmp_path / "run" / "config.json").write_text((trained_run / "run" / "config.json").read_text())
    cfg = config_from_preset(
        "smoke", dataset=None, data=str(trained_run / "pairs"), ema=0.9, max_steps=8
    )
    summary = train(cfg, tmp_path / "run", resume=True, progress=False)
    assert summary["step"] == 8
    torch.load(old_path, weights_only=True)


# --------------------------------------------------------------------------- export


def test_export_round_trip_eval_and_translate(trained_run, tmp_path, capsys):
    run = trained_run / "run"
    (run / "metrics.json").write_text(
        json.dumps({"acc_delta10": 0.5, "rmse": 30.0, "split": "val"})
    )
    try:
        code, out, err = run_cli(
            capsys, "export", run / "checkpoints" / "latest.pt", "--out", tmp_path / "g"
        )
    finally:
        (run / "metrics.json").unlink()
    assert code == 0, err
    folder = tmp_path / "g"
    assert {p.name for p in folder.iterdir()} == {
        "generator.safetensors",
        "config.json",
        "README.md",
    }
    card = (folder / "README.md").read_text()
    assert "| acc_delta10 | 0.5 |" in card and "own data" in card and "unet_32" in card
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format"] == "pix2pix-course-generator" and meta["weights"].startswith("netG_ema")

    netG_ckpt, cfg_ckpt = generator_from_checkpoint(run / "checkpoints" / "latest.pt")
    netG_run, _ = generator_from_checkpoint(run)  # the run folder (it has a config.json too)
    netG_exp, cfg_exp = generator_from_checkpoint(folder)
    assert cfg_exp == cfg_ckpt and not netG_exp.training
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        assert torch.equal(netG_exp(x), netG_ckpt(x)) and torch.equal(netG_run(x), netG_ckpt(x))

    code, out, err = run_cli(
        capsys,
        "eval",
        "--checkpoint",
        folder,
        "--data",
        trained_run / "pairs" / "val",
        "--quiet",
        "--palette",
        "none",
    )
    assert code == 0, err
    assert json.loads(out)["n_images"] == 4
    image = tmp_path / "in.png"
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(image)
    code, out, err = run_cli(
        capsys, "translate", "--checkpoint", folder, image, "--out", tmp_path / "t"
    )
    assert code == 0 and len(list((tmp_path / "t").iterdir())) == 1, err

    # a damaged folder gets one line, not a traceback
    (folder / "generator.safetensors").write_bytes(b"not safetensors")
    code, _, err = run_cli(
        capsys, "translate", "--checkpoint", folder, image, "--out", tmp_path / "t2"
    )
    assert code == 2 and err.count("\n") == 1 and "generator.safetensors" in err


# --------------------------------------------------------------------------- published weights


class _PublishedUnetBlock(nn.Module):
    """One nested U-Net block in the authors' layout (its layers in one ``nn.Sequential`` named
    ``model``)."""

    def __init__(self, outer, inner, sub=None, in_ch=None, outermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        in_ch = in_ch or outer
        down = nn.Conv2d(in_ch, inner, 4, 2, 1, bias=False)
        if outermost:
            layers = [
                down,
                sub,
                nn.ReLU(),
                nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1),
                nn.Tanh(),
            ]
        elif sub is None:
            layers = [
                nn.LeakyReLU(0.2),
                down,
                nn.ReLU(),
                nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer),
            ]
        else:
            layers = [
                nn.LeakyReLU(0.2),
                down,
                nn.BatchNorm2d(inner),
                sub,
                nn.ReLU(),
                nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer),
            ]
            layers += [nn.Dropout(0.5)] if dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def _published_unet(num_downs, ngf=64):
    block = _PublishedUnetBlock(ngf * 8, ngf * 8)
    for _ in range(num_downs - 5):
        block = _PublishedUnetBlock(ngf * 8, ngf * 8, block, dropout=True)
    for mult in (4, 2, 1):
        block = _PublishedUnetBlock(ngf * mult, ngf * mult * 2, block)
    net = nn.Module()
    net.model = _PublishedUnetBlock(3, ngf, block, in_ch=3, outermost=True)
    net.forward = net.model.forward
    return net


def _published_resnet(n_blocks=9, ngf=64):
    """The authors' flat ResNet generator (instance norm, so every conv has a bias)."""

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv_block = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(),
                nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

        def forward(self, x):
            return x + self.conv_block(x)

    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU()]
    for m in (1, 2):
        layers += [
            nn.Conv2d(ngf * m, ngf * m * 2, 3, 2, 1),
            nn.InstanceNorm2d(ngf * m * 2),
            nn.ReLU(),
        ]
    layers += [Block(ngf * 4) for _ in range(n_blocks)]
    for m in (4, 2):
        layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, 2, 1, output_padding=1),
                   nn.InstanceNorm2d(ngf * m // 2), nn.ReLU()]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    net = nn.Module()
    net.model = nn.Sequential(*layers)
    net.forward = net.model.forward
    return net


def _randomise(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.2 + (0.9 if t.dim() == 1 else -0.1))
    return net.eval()


@pytest.mark.parametrize(
    "netG, size", [("unet_256", 256), ("unet_128", 128), ("resnet_9blocks", 64)]
)
def test_import_published_generator_gives_the_same_output(netG, size, tmp_path):
    torch.manual_seed(0)
    theirs = _randomise(
        _published_unet(int(np.log2(size))) if netG.startswith("unet") else _published_resnet(), 1
    )
    if netG == "unet_256":
        assert sum(p.numel() for p in theirs.parameters()) == 54_413_955
    state = theirs.state_dict()
    state = {
        k: v for k, v in state.items() if not k.endswith("num_batches_tracked")
    }  # as the old files
    torch.save(state, tmp_path / "latest_net_G.pth")
    out = import_published(tmp_path / "latest_net_G.pth", netG, tmp_path / "g", direction="AtoB")
    ours, cfg = generator_from_checkpoint(out)
    assert cfg.netG == netG and not ours.training
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
    assert "pytorch-CycleGAN-and-pix2pix" in (out / "config.json").read_text()
    assert "not by this course" in (out / "README.md").read_text()


def test_import_refuses_a_file_of_another_architecture(tmp_path, capsys):
    torch.save(_published_unet(7, ngf=8).state_dict(), tmp_path / "small.pth")
    code, _, err = run_cli(capsys, "import-weights", tmp_path / "small.pth", "--netG", "unet_128",
                           "--out", tmp_path / "g")
    assert code == 2 and err.count("\n") == 1
    assert (
        "does not fit --netG unet_128" in err
        and "model.model.0.weight" in err
        and "(8, 3, 4, 4)" in err
    )
    code, _, err = run_cli(
        capsys,
        "import-weights",
        tmp_path / "small.pth",
        "--netG",
        "resnet_9blocks",
        "--out",
        tmp_path / "g",
    )
    assert code == 2 and "does not fit --netG resnet_9blocks" in err
    assert not (tmp_path / "g").exists()


# --------------------------------------------------------------------------- Apple GPUs


def test_mps_is_picked_when_available_and_refused_where_not(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    assert pick_device("mps") == torch.device("mps")
    assert pick_device("cpu") == torch.device("cpu")
    prec = choose_precision("mps")
    assert prec.amp == "off" and "float32" in prec.reason
    exe = choose_execution(torch.device("mps"))
    assert not exe.compile and not exe.channels_last and not exe.fused_adam

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    with pytest.raises(DeviceError, match="--device mps"):
        pick_device("mps")
    code, _, err = run_cli(
        capsys, "translate", "--checkpoint", "x.pt", "in.png", "--out", "o", "--device", "mps"
    )
    assert (
        code == 2 and err.count("\n") == 1 and "--device mps" in err and "use --device cpu" in err
    )
    code, _, err = run_cli(
        capsys, "eval", "--checkpoint", "x", "--dataset", "maps", "--device", "cuda"
    )
    assert code == 2 and "CUDA is not available" in err


"""The cpu-quick recipe's levers (EMA of netG, L1 warm-up), the time-budget progress bar, and eval's
palette IoU on --data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import read_log, smoke

from course_utils import cli
from course_utils.evaluation.palette import Palette
from course_utils.training.checkpoint import generator_from_checkpoint
from course_utils.training.loop import _progress_bar, train
from course_utils.training.optim import make_ema


def test_ema_follows_the_formula_and_copies_integer_buffers():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    ema = make_ema(net, 0.9)
    history = []
    for _ in range(5):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net.train()(torch.randn(2, 3, 8, 8))  # moves the BatchNorm statistics
        history.append({k: v.clone() for k, v in net.state_dict().items()})
        ema.update_parameters(net)
    # expected: the first update copies, then avg += (1 - d) * (x - avg)
    # with d = min(0.9, (1 + n) / (10 + n))
    expected = {k: v.clone().float() for k, v in history[0].items()}
    for n, state in enumerate(history[1:], start=1):
        d = min(0.9, (1 + n) / (10 + n))
        for k, v in state.items():
            expected[k] = (
                v.float()
                if not v.is_floating_point()
                else expected[k] + (1 - d) * (v - expected[k])
            )
    for k, v in ema.module.state_dict().items():
        torch.testing.assert_close(v.float(), expected[k], rtol=1e-5, atol=1e-6, msg=k)
    assert ema.module.state_dict()["1.num_batches_tracked"].item() == 5
    assert make_ema(net, 0.0) is None
    with pytest.raises(ValueError, match="ema"):
        make_ema(net, 1.0)


def test_ema_is_what_the_checkpoint_gives_and_resume_keeps_it(pairs_root, tmp_path, monkeypatch):
    import shutil

    import course_utils.training.loop as hub

    # keep a copy of every checkpoint, to resume from step 4 as after a kill
    real_save = hub.save_atomic
    monkeypatch.setattr(hub, "save_atomic", lambda obj, path: (
        real_save(obj, path), shutil.copy(path, Path(path).with_name(f"step{obj['step']}.pt")))[0])
    straight = tmp_path / "straight"
    train(
        smoke(pairs_root, ema=0.9, max_steps=6, save_every=2, amp="off"), straight, progress=False
    )
    ckpt4 = torch.load(straight / "checkpoints" / "step4.pt", weights_only=True)
    assert ckpt4["ema_n"] == 4
    netG, _ = generator_from_checkpoint(ckpt4)
    for k, v in netG.state_dict().items():
        torch.testing.assert_close(v, ckpt4["netG_ema"][k])
    assert any(not torch.equal(ckpt4["netG"][k], ckpt4["netG_ema"][k]) for k in ckpt4["netG"])
    # resumed from step 4, the average goes on as if the run had never stopped
    run = tmp_path / "resumed"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(straight / "checkpoints" / "step4.pt", run / "checkpoints" / "latest.pt")
    (run / "losses.jsonl").write_text(
        "".join(line + "\n" for line in (straight / "losses.jsonl").read_text().splitlines()[:4])
    )
    train(
        smoke(pairs_root, ema=0.9, max_steps=6, save_every=2, amp="off"),
        run,
        resume=True,
        progress=False,
    )
    a = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    b = torch.load(straight / "checkpoints" / "latest.pt", weights_only=True)
    assert a["ema_n"] == b["ema_n"] == 6
    for k in a["netG_ema"]:
        torch.testing.assert_close(a["netG_ema"][k], b["netG_ema"][k])


def test_l1_warmup_trains_netG_alone_first(pairs_root, tmp_path):
    run = tmp_path / "r"
    train(smoke(pairs_root, l1_warmup=0.5, max_steps=6), run, progress=False)
    rows = read_log(run)
    assert [r["D_real"] == 0 and r["G_GAN"] == 0 for r in rows] == [True] * 3 + [False] * 3
    assert all(r["G_L1"] > 0 for r in rows)


def test_progress_bar_counts_the_time_budget(pairs_root):
    bar = _progress_bar(
        smoke(pairs_root, time_budget=2.0), total_steps=9999, step=0, elapsed=30.0, enabled=True
    )
    assert (bar.total, bar.n, bar.unit) == (120, 30, "s")
    assert "s of the time budget" in str(bar) and "left" in str(bar)
    bar.close()
    bar = _progress_bar(smoke(pairs_root), total_steps=50, step=10, elapsed=0.0, enabled=True)
    assert (bar.total, bar.n) == (50, 10)
    bar.close()


def test_losses_png_is_drawn_at_every_save(pairs_root, tmp_path, monkeypatch):
    import course_utils.training.loop as hub

    calls = []
    real = hub.plot_losses
    monkeypatch.setattr(hub, "plot_losses", lambda *a, **k: calls.append(1) or real(*a, **k))
    train(smoke(pairs_root, max_steps=4, save_every=2), tmp_path / "r", progress=False)
    assert len(calls) >= 3  # steps 2 and 4, then the final plot
    assert (tmp_path / "r" / "losses.png").stat().st_size > 0


def two_colour_palette():
    return Palette(("background", "road"), np.array([[40, 40, 40], [230, 230, 230]]))


def test_eval_data_reports_palette_iou_with_palette_maps(pairs_root, tmp_path, monkeypatch, capsys):
    import course_utils.evaluation.palette

    monkeypatch.setattr(course_utils.evaluation.palette, "maps_palette", two_colour_palette)
    train(smoke(pairs_root, max_steps=2), tmp_path / "r", progress=False)
    ck = str(tmp_path / "r" / "checkpoints" / "latest.pt")
    out = tmp_path / "m.json"
    assert (
        cli.main(
            [
                "eval",
                "--checkpoint",
                ck,
                "--data",
                str(pairs_root / "val"),
                "--palette",
                "maps",
                "--json",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    metrics = json.loads(out.read_text())
    assert set(metrics["iou"]) == {"background", "road"} and 0 <= metrics["mean_iou"] <= 1
    # without --palette, --data says how to get the IoU and reports none
    assert (
        cli.main(
            ["eval", "--checkpoint", ck, "--data", str(pairs_root / "val"), "--json", str(out)]
        )
        == 0
    )
    assert "iou" not in json.loads(out.read_text())
    assert "--palette maps" in capsys.readouterr().err
    # a map -> aerial checkpoint generates no maps: refused in one line
    train(smoke(pairs_root, max_steps=2, direction="BtoA"), tmp_path / "b", progress=False)
    ck_b = str(tmp_path / "b" / "checkpoints" / "latest.pt")
    assert (
        cli.main(
            ["eval", "--checkpoint", ck_b, "--data", str(pairs_root / "val"), "--palette", "maps"]
        )
        == 2
    )
    assert "drop --palette" in capsys.readouterr().err

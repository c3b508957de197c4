"""Training: run-folder outputs, checkpoints, kill and resume, DDP, and the CLI's errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import torch
from helpers import ENV, cli, kill_mid_run_then_resume, read_log, smoke

from course_utils.errors import CheckpointError, CourseError, DataError
from course_utils.training.checkpoint import generator_from_checkpoint, load_checkpoint, save_atomic
from course_utils.training.config import config_from_preset
from course_utils.training.loop import train
from course_utils.training.recipes.pix2pix import LOSS_KEYS
from course_utils.training.schedule import epoch_indices, lr_lambda


def test_run_folder_and_checkpoint_contents(pairs_root, tmp_path):
    run = tmp_path / "run"
    # 12 train images, batch 2 -> 6 steps per epoch; 8 steps = 1 epoch + 2.
    summary = train(smoke(pairs_root, max_steps=8, save_every=100), run, progress=False)
    assert summary["step"] == 8
    log = read_log(run)
    assert [r["step"] for r in log] == list(range(1, 9))
    assert all(set(LOSS_KEYS) <= set(r) for r in log)
    assert (run / "losses.png").stat().st_size > 0
    assert (run / "samples" / "epoch_001.png").exists() and (run / "samples" / "final.png").exists()
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert ckpt["step"] == 8
    for key in ("netG", "netD", "optG", "optD", "schedG", "schedD", "rng", "config"):
        assert key in ckpt, key
    assert ckpt["config"]["netG"] == "unet_32" and ckpt["config"]["direction"] == "AtoB"
    # eval/translate need nothing but the checkpoint
    netG, cfg = generator_from_checkpoint(run / "checkpoints" / "latest.pt")
    assert cfg.eval_size == 64 and not netG.training
    assert netG(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_refuses_to_overwrite_and_to_resume_other_networks(pairs_root, tmp_path):
    run = tmp_path / "run"
    train(smoke(pairs_root, max_steps=2), run, progress=False)
    with pytest.raises(CheckpointError, match="--resume"):
        train(smoke(pairs_root, max_steps=4), run, progress=False)
    with pytest.raises(CheckpointError, match="ngf: checkpoint 8 vs now 16"):
        train(smoke(pairs_root, max_steps=4, ngf=16), run, resume=True, progress=False)
    summary = train(smoke(pairs_root, max_steps=4), run, resume=True, progress=False)
    assert summary["step"] == 4 and [r["step"] for r in read_log(run)] == [1, 2, 3, 4]


def test_lr_schedule_and_epoch_order():
    f = lr_lambda(100, 0.5)
    assert [f(0), f(49), f(50), f(75), f(100)] == [1.0, 1.0, 1.0, 0.5, 0.0]
    # With a time budget, the schedule follows whichever is further along: steps or time.
    used = {"fraction": 0.75}
    g = lr_lambda(100, 0.5, lambda: used["fraction"])
    assert g(10) == 0.5 and g(90) == pytest.approx(0.2)
    used["fraction"] = 1.0
    assert g(10) == 0.0
    a = epoch_indices(10, 3, seed=0)
    assert a == epoch_indices(10, 3, seed=0) and sorted(a) == list(range(10))
    assert a != epoch_indices(10, 4, seed=0)
    shards = epoch_indices(10, 3, 0, rank=0, world=2) + epoch_indices(10, 3, 0, rank=1, world=2)
    assert sorted(shards) == list(range(10))


def test_time_budget_stops_and_checkpoints(pairs_root, tmp_path):
    run = tmp_path / "run"
    summary = train(smoke(pairs_root, max_steps=10_000, time_budget=0.0001), run, progress=False)
    assert summary["stopped_by_time_budget"] and 1 <= summary["step"] < 10_000
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == summary["step"]


def test_time_budget_on_the_cpu_clock(pairs_root, tmp_path):
    """With time_budget_clock="cpu" the budget counts the process's CPU time, not the wall clock."""
    run = tmp_path / "run"
    t_cpu = time.process_time()
    summary = train(
        smoke(pairs_root, max_steps=10_000, time_budget=0.02, time_budget_clock="cpu"),
        run,
        progress=False,
    )
    used = time.process_time() - t_cpu
    assert summary["stopped_by_time_budget"] and 1.2 <= summary["budget_seconds"] <= used
    with pytest.raises(CourseError, match="time_budget_clock"):
        train(smoke(pairs_root, time_budget_clock="gpu"), tmp_path / "x", progress=False)


def test_atomic_save_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "c.pt"
    save_atomic({"step": 1, "config": {}, "netG": {}}, path)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_atomic({"step": 2, "config": {}, "netG": {}, "x": Boom()}, path)
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind




@pytest.mark.slow
@pytest.mark.parametrize("model, steps, save_every, kill_after", [
    ("pix2pix", 30, 4, 14),
    ("pix2pixhd", 18, 2, 7),  # through all three of its stages
])
def test_sigkill_then_resume_matches_uninterrupted_run(
    model, steps, save_every, kill_after, pairs_root, tmp_path
):
    """Killed with SIGKILL mid-run, --resume finishes the steps; the result equals an uninterrupted
    run."""
    args = [
        "train",
        "--model",
        model,
        "--data",
        pairs_root,
        "--preset",
        "smoke",
        "--max-steps",
        steps,
        "--save-every",
        save_every,
        "--quiet",
    ]
    ref, run, _ = kill_mid_run_then_resume(args, tmp_path, kill_after=kill_after, steps=steps,
                                           save_every=save_every, timeout=120)
    a = load_checkpoint(ref / "checkpoints" / "latest.pt")
    b = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert b["step"] == steps
    for k in a["netG"]:
        assert torch.allclose(a["netG"][k].float(), b["netG"][k].float(), atol=1e-5), k
    if model == "pix2pix":
        for ra, rb in zip(read_log(ref), read_log(run)):
            assert ra["G_L1"] == pytest.approx(rb["G_L1"], abs=1e-4)


@pytest.mark.slow
def test_ddp_two_cpu_processes(pairs_root, tmp_path):
    run = tmp_path / "ddp"
    res = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "course_utils.cli", "train", "--data", str(pairs_root), "--preset", "smoke",
         "--max-steps", "4", "--save-every", "2", "--out", str(run), "--quiet"],
        capture_output=True, text=True, timeout=300, env=ENV,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert ckpt["world_size"] == 2 and ckpt["step"] == 4
    assert len(ckpt["rng"]) == 2  # each rank's RNG state, for resuming
    # 12 images on 2 ranks at batch 2: 3 steps per epoch, so 4 steps cross into epoch 1.
    assert [r["epoch"] for r in read_log(run)] == [0, 0, 0, 1]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["images_per_second"] > 0


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "case",
    [
        "missing-data",
        "no-train-folder",
        "bad-image",
        "missing-checkpoint",
        "corrupt-checkpoint",
        "not-a-checkpoint",
    ],
)
def test_cli_bad_input_one_line_exit_2(case, pairs_root, tmp_path):
    if case == "missing-data":
        res, needle = (
            cli("train", "--data", tmp_path / "nope", "--preset", "smoke", "--out", tmp_path / "r"),
            "nope",
        )
    elif case == "no-train-folder":
        (tmp_path / "empty").mkdir()
        res, needle = (
            cli(
                "train", "--data", tmp_path / "empty", "--preset", "smoke", "--out", tmp_path / "r"
            ),
            "train/",
        )
    elif case == "bad-image":
        _write(pairs_root / "train" / "99.jpg", b"this is not a jpeg")
        res, needle = (
            cli("train", "--data", pairs_root, "--preset", "smoke", "--out", tmp_path / "r"),
            "99.jpg",
        )
    elif case == "missing-checkpoint":
        res, needle = (
            cli("eval", "--checkpoint", tmp_path / "x.pt", "--data", pairs_root / "val"),
            "x.pt",
        )
    elif case == "corrupt-checkpoint":
        ck = _write(tmp_path / "bad.pt", b"\x00" * 100)
        res, needle = cli("eval", "--checkpoint", ck, "--data", pairs_root / "val"), "bad.pt"
    else:
        ck = tmp_path / "other.pt"
        torch.save({"weights": 1}, ck)
        res, needle = (
            cli("translate", "--checkpoint", ck, pairs_root / "val", "--out", tmp_path / "o"),
            "other.pt",
        )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()  # progress bars may come first
    errors = [ln for ln in lines if ln.startswith("pix2pix: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr
    assert needle in errors[0]


def test_resolve_data_errors(tmp_path):
    from course_utils.training.loop import resolve_data

    with pytest.raises(DataError, match="no train/ folder"):
        resolve_data(config_from_preset("smoke", dataset=None, data=str(tmp_path)))


def test_plotting_the_losses_leaves_a_notebooks_backend_alone(tmp_path):
    """``train`` plots losses.png; a notebook's inline figures must still show afterwards."""
    import json

    import matplotlib

    from course_utils.training.plots import plot_losses
    from course_utils.training.recipes.pix2pix import PIX2PIX_PLOT

    log = tmp_path / "losses.jsonl"
    log.write_text(
        "".join(
            json.dumps({"step": s, "G_GAN": 1.0, "D_real": 0.5, "D_fake": 0.5, "G_L1": 0.3}) + "\n"
            for s in range(1, 6)
        )
    )
    before = matplotlib.get_backend()
    inline = "module://matplotlib_inline.backend_inline"
    matplotlib.use(inline)
    try:
        assert plot_losses(log, tmp_path / "losses.png", PIX2PIX_PLOT).stat().st_size > 0
        assert matplotlib.get_backend() == inline, (
            "plot_losses switched the backend: a notebook's plt.show() would show nothing"
        )
    finally:
        matplotlib.use(before)

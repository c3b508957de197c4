"""The one resumable training loop of every model.

The loop (:func:`train`) is model-agnostic: a model supplies a
:class:`~course_utils.training.recipes.ModelRecipe` (networks, one training step,
sample generation, presets; see :mod:`course_utils.training.recipes`), chosen by
``TrainConfig.model`` (``pix2pix train --model pix2pix|pix2pixhd|srgan|cyclegan|spade``).
The loop owns the run folder, resume, DDP, the time budget, the lr schedule, logging,
samples and checkpoints; :class:`TimeBudget` and :class:`LossLog` are two of its parts.

The loop writes everything to a run folder::

    RUN_DIR/config.json          the whole TrainConfig
    RUN_DIR/losses.jsonl         one line per step: step, epoch, lr and the model's losses
                                 (Pix2Pix: G_GAN, G_L1, D_real, D_fake)
    RUN_DIR/losses.png           the loss curves
    RUN_DIR/samples/epoch_NNN.png   input | generated | target on fixed val images
    RUN_DIR/checkpoints/latest.pt   atomic; every save_every steps and every epoch end

Run it on several processes with ``torchrun --nproc_per_node N -m
course_utils.cli train ...`` (DistributedDataParallel; gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm.auto import tqdm

from course_utils.device import pick_device
from course_utils.errors import CheckpointError, CourseError, DataError
from course_utils.training.checkpoint import load_checkpoint, save_atomic
from course_utils.training.config import TrainConfig
from course_utils.training.execution import choose_execution
from course_utils.training.optim import make_ema
from course_utils.training.plots import plot_losses, save_sample_grid
from course_utils.training.schedule import epoch_indices, lr_lambda
from course_utils.training.state import rng_state, seed_everything, set_rng_state

# Unpaired models (ModelRecipe.unpaired) shuffle real_B with seed + this offset.
UNPAIRED_SEED_OFFSET = 7919


def _dist_info() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


# --------------------------------------------------------------------------- data


def resolve_data(cfg: TrainConfig) -> tuple[Path, Path | None]:
    """The train folder and the val folder (or ``None``) for ``cfg``.

    Raises:
        DataError: if neither ``dataset`` nor ``data`` is set, or the folders are missing.
    """
    from course_utils.data.datasets import dataset_folder

    if cfg.data:
        root = Path(cfg.data)
        train_dir = root / "train"
        if not train_dir.is_dir():
            raise DataError(f"--data {root}: no train/ folder inside; it must hold train/ "
                            f"(and optionally val/) with A|B images")
        val_dir = root / "val"
        return train_dir, (val_dir if val_dir.is_dir() else None)
    if not cfg.dataset:
        raise DataError("give --dataset maps|facades or --data DIR")
    train_dir = dataset_folder(cfg.dataset, "train")
    try:
        val_dir = dataset_folder(cfg.dataset, "val")
    except DataError:
        val_dir = None
    return train_dir, val_dir


def eval_dataset(folder, cfg: TrainConfig, max_items=None, cache=True, progress=True):
    """The deterministic dataset used for samples and evaluation (the model's recipe chooses it).

    Pix2Pix and Pix2PixHD: whole ``eval_size`` tiles, bilinear resize. SRGAN:
    ``eval_size`` centre crops of the high-resolution images and their bicubic
    downscale. ``cache=True`` (default) decodes each file once: the pre-scan that
    checks the files also fills the cache that evaluation reads.
    """
    from course_utils.training.recipes import get_recipe

    return get_recipe(cfg).eval_dataset(folder, max_items=max_items, cache=cache, progress=progress)


# --------------------------------------------------------------------------- loop


class TimeBudget:
    """The run's clock: seconds of training on ``clock`` (``"wall"`` or ``"cpu"``), summed over
    resumed sessions.

    ``minutes=None`` (or 0 for the lr schedule) means no budget. :meth:`tick` after every step
    updates :attr:`elapsed`; :meth:`fraction` is what the lr schedule follows.

    Raises:
        CourseError: for an unknown ``clock``.
    """

    def __init__(self, minutes: float | None, clock: str = "wall", elapsed_before: float = 0.0):
        if clock not in ("wall", "cpu"):
            raise CourseError(f"time_budget_clock must be 'wall' or 'cpu', got {clock!r}")
        self.minutes = minutes
        self.now = time.process_time if clock == "cpu" else time.time
        self.before = self.elapsed = elapsed_before
        self._t0 = self.now()

    def start(self) -> None:
        """Start counting this session (after set-up: data, networks and compilation plans are not
        counted)."""
        self._t0 = self.now()

    def tick(self) -> float:
        """Seconds of training so far, all sessions; stored in :attr:`elapsed`."""
        self.elapsed = self.before + self.now() - self._t0
        return self.elapsed

    def so_far(self) -> float:
        """Seconds so far, measured now (what a checkpoint stores)."""
        return self.before + (self.now() - self._t0)

    def fraction(self) -> float:
        return self.elapsed / (self.minutes * 60)

    def schedule_progress(self):
        """The callable the lr schedule follows, or ``None`` without a budget."""
        return self.fraction if self.minutes else None

    def over(self) -> bool:
        return self.minutes is not None and self.elapsed >= self.minutes * 60


class LossLog:
    """``losses.jsonl``: one JSON line per step, line-buffered, so a kill loses no finished line.

    A fresh run starts an empty file; a resumed one first drops the lines past the checkpoint's
    step (they are trained again). Only the main process (``enabled``) writes.
    """

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled, self.file = path, enabled, None

    def start_fresh(self) -> None:
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("")

    def truncate_after(self, step: int) -> None:
        if self.enabled and self.path.exists():
            keep = [ln for ln in self.path.read_text().splitlines()
                    if ln.strip() and json.loads(ln)["step"] <= step]
            self.path.write_text("".join(ln + "\n" for ln in keep))

    def open(self) -> None:
        if self.enabled:
            self.file = open(self.path, "a", buffering=1)  # noqa: SIM115 - closed by close()

    def write(self, step: int, epoch: int, lr: float, losses: dict) -> None:
        if self.file is not None:
            self.file.write(json.dumps({"step": step, "epoch": epoch, "lr": lr,
                                        **{k: round(v, 5) for k, v in losses.items()}}) + "\n")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _checkpoint_to_resume(ckpt_path: Path, cfg: TrainConfig, recipe, resume: bool) -> dict | None:
    """The checkpoint a run continues from, or ``None`` for a fresh run.

    Raises:
        CheckpointError: a checkpoint exists and ``resume`` is false, or its networks/data differ
            from ``cfg``.
    """
    if not ckpt_path.exists():
        return None
    if not resume:
        raise CheckpointError(
            f"{ckpt_path.parent.parent} already holds a run ({ckpt_path}); pass --resume to "
            f"continue it or choose another --out"
        )
    ckpt = load_checkpoint(ckpt_path)
    old = TrainConfig.from_dict(ckpt["config"])
    diff = [f"{k}: checkpoint {getattr(old, k)!r} vs now {getattr(cfg, k)!r}"
            for k in ("model", *recipe.model_fields) if getattr(old, k) != getattr(cfg, k)]
    if diff:
        raise CheckpointError(f"cannot resume {ckpt_path} with different networks/data: "
                              + "; ".join(diff))
    return ckpt


def _restore(ckpt: dict, rank: int, netG, netD, optG, optD, schedG, schedD, scalers, ema) -> int:
    """Load a checkpoint's training state into the run's objects; returns its step."""
    netG.load_state_dict(ckpt["netG"])
    netD.load_state_dict(ckpt["netD"])
    optG.load_state_dict(ckpt["optG"])
    optD.load_state_dict(ckpt["optD"])
    schedG.load_state_dict(ckpt["schedG"])
    schedD.load_state_dict(ckpt["schedD"])
    if scalers and ckpt.get("scalers"):
        for s, sd in zip(scalers, ckpt["scalers"]):
            s.load_state_dict(sd)
    if ema is not None and ckpt.get("netG_ema") is not None:
        ema.module.load_state_dict(ckpt["netG_ema"])
        ema.n_averaged.fill_(int(ckpt.get("ema_n") or ckpt["step"]))
    rngs = ckpt["rng"]
    set_rng_state(rngs[rank] if isinstance(rngs, list) and rank < len(rngs) else rngs)
    return int(ckpt["step"])


def _progress_bar(cfg: TrainConfig, total_steps: int, step: int, elapsed: float,
                  enabled: bool) -> tqdm:
    """The training bar: steps out of ``total_steps``, or, under a time budget, seconds of the
    budget.

    A time-boxed run ends when its minutes are spent, long before its nominal
    step count, so its bar counts the budget (``n/total`` seconds and the time
    left) and shows the steps done so far after it.
    """
    if not cfg.time_budget:
        return tqdm(total=total_steps, initial=step, desc="train", disable=not enabled,
                    dynamic_ncols=True)
    budget = round(cfg.time_budget * 60)
    clock = "CPU " if cfg.time_budget_clock == "cpu" else ""
    return tqdm(total=budget, initial=min(budget, round(elapsed)), desc="train",
                disable=not enabled, dynamic_ncols=True, unit="s",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} s of the "
                           + clock + "time budget, {remaining} left{postfix}")


def train(
    cfg: TrainConfig,
    out_dir,
    *,
    resume: bool = False,
    device=None,
    progress: bool = True,
) -> dict:
    """Train the model ``cfg.model`` (Pix2Pix by default) as ``cfg`` says, writing the run folder
    ``out_dir``.

    This is the one training loop of the course; the model's networks, step
    and sample generation come from its recipe (:mod:`course_utils.training.recipes`).

    Stops after ``cfg.max_steps`` steps if set, else after ``cfg.epochs``
    epochs, and early when ``cfg.time_budget`` minutes (summed over resumed
    sessions) have passed. Under ``torchrun`` it trains with
    DistributedDataParallel, each process on its own shard of every epoch.

    Args:
        resume: continue from ``out_dir/checkpoints/latest.pt`` (a fresh start
            if there is none). The networks in ``cfg`` must match the checkpoint's.
        device: a torch device; default CUDA when present (the local rank's GPU
            under torchrun), else the CPU.

    Returns:
        ``{"step", "epoch", "seconds", "images_per_second", "checkpoint"}``.

    Raises:
        DataError: for missing or bad data (every bad file listed).
        CheckpointError: if ``out_dir`` already holds a checkpoint and
            ``resume`` is false, or the checkpoint does not match ``cfg``.
    """
    from course_utils.training.recipes import get_recipe

    recipe = get_recipe(cfg)
    rank, world = _dist_info()
    distributed = world > 1
    if device is None:
        if torch.cuda.is_available():
            device = torch.device("cuda",
                                  int(os.environ.get("LOCAL_RANK", "0")) if distributed else 0)
        else:
            device = pick_device()  # Apple's MPS when present, else the CPU
    device = torch.device(device)
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    is_main = rank == 0
    exe = choose_execution(device, amp=cfg.amp, compile=cfg.compile,
                           channels_last=cfg.channels_last, fused_adam=cfg.fused_adam,
                           distributed=distributed)
    if is_main:
        print(f"pix2pix train: {exe.describe()}"
              + ("" if cfg.model == "pix2pix" else f" (model {cfg.model})"), flush=True)

    out_dir = Path(out_dir)
    ckpt_path = out_dir / "checkpoints" / "latest.pt"
    ckpt = _checkpoint_to_resume(ckpt_path, cfg, recipe, resume)
    log = LossLog(out_dir / "losses.jsonl", enabled=is_main)

    # --- data (scanned before anything trains)
    train_dir, val_dir = resolve_data(cfg)
    train_set = recipe.train_dataset(train_dir, progress=progress and is_main)
    sample_set = eval_dataset(val_dir or train_dir, cfg, max_items=cfg.n_samples, progress=False)
    sample_batch = torch.utils.data.default_collate([sample_set[i] for i in range(len(sample_set))])

    n_per_rank = len(train_set) // world
    steps_per_epoch = n_per_rank // cfg.batch_size
    if steps_per_epoch == 0:
        raise DataError(
            f"{train_dir}: {len(train_set)} images are fewer than batch size {cfg.batch_size} x "
            f"{world} process(es); lower --batch-size"
        )
    # --max-steps, when given, replaces --epochs as the length of the run (and of the lr schedule).
    total_steps = cfg.max_steps if cfg.max_steps else cfg.epochs * steps_per_epoch

    # --- networks and optimisers
    seed_everything(cfg.seed)
    netG, netD = recipe.build_networks(cfg)
    recipe.setup(device, is_main)
    memory_format = exe.memory_format
    # compiled wrappers when exe.compile; they share the weights
    netG_t, netD_t = exe.prepare(netG, netD)
    optG, optD = recipe.make_optimizers(netG, netD, fused=exe.fused_adam)
    ema = make_ema(netG, cfg.ema)
    budget = TimeBudget(cfg.time_budget, cfg.time_budget_clock,
                        float(ckpt.get("elapsed", 0.0)) if ckpt is not None else 0.0)
    schedule = lr_lambda(total_steps, cfg.decay_fraction, budget.schedule_progress())
    schedG = torch.optim.lr_scheduler.LambdaLR(optG, schedule)
    schedD = torch.optim.lr_scheduler.LambdaLR(optD, schedule)
    autocast, scalers = exe.precision.autocast, exe.precision.grad_scalers()

    step = 0
    if ckpt is not None:
        step = _restore(ckpt, rank, netG, netD, optG, optD, schedG, schedD, scalers, ema)
        log.truncate_after(step)
    else:
        log.start_fresh()
    if is_main:
        (out_dir / "config.json").write_text(
            json.dumps({**cfg.to_dict(), "execution": exe.to_dict()}, indent=2) + "\n")

    if distributed:  # choose_execution never compiles under DDP, so netG_t is netG here
        ddp_kw = {"device_ids": [device.index]} if device.type == "cuda" else {}
        if recipe.ddp_find_unused_parameters:
            ddp_kw["find_unused_parameters"] = True
        netG_t, netD_t = DDP(netG, **ddp_kw), DDP(netD, **ddp_kw)
    netG_t.train()
    netD_t.train()

    def save():
        # Every rank's RNG state goes into the checkpoint, so each can resume its own stream.
        states = [rng_state()]
        if distributed:
            gathered = [None] * world
            dist.all_gather_object(gathered, states[0])
            states = gathered
        if not is_main:
            return
        save_atomic(
            {
                "step": step, "epoch": step // steps_per_epoch, "config": cfg.to_dict(),
                "netG": netG.state_dict(), "netD": netD.state_dict(),
                "netG_ema": ema.module.state_dict() if ema is not None else None,
                "ema_n": int(ema.n_averaged) if ema is not None else 0,
                "optG": optG.state_dict(), "optD": optD.state_dict(),
                "schedG": schedG.state_dict(), "schedD": schedD.state_dict(),
                "scalers": [s.state_dict() for s in scalers] if scalers else None,
                "rng": states, "elapsed": budget.so_far(),
                "world_size": world,
            },
            ckpt_path,
        )
        # the curves so far, at every save
        plot_losses(log.path, out_dir / "losses.png", recipe.plot_groups)

    def run_progress() -> float:
        """How far along the run is, in [0, 1]: steps or time budget, whichever is further (as the
        lr)."""
        return min(1.0, max(step / max(1, total_steps),
                            budget.fraction() if budget.minutes else 0.0))

    def sample_fn():
        progress_now = run_progress()
        return lambda net, real_A: recipe.generate(net, real_A, progress_now)

    shown_G = ema.module if ema is not None else netG  # what the samples show (and eval loads)
    t0 = time.time()
    budget.start()
    start_step = step
    bar = _progress_bar(cfg, total_steps, step, budget.elapsed, enabled=progress and is_main)
    log.open()
    stopped_by_time = False
    first_step_seconds = None  # includes torch.compile's compilation when exe.compile
    try:
        while step < total_steps:
            epoch, pos = divmod(step, steps_per_epoch)
            order = epoch_indices(len(train_set), epoch, cfg.seed, rank, world)[
                : steps_per_epoch * cfg.batch_size]
            # real_B from its own order, independent of real_A's (no pair is used)
            if recipe.unpaired:
                order_B = epoch_indices(len(train_set), epoch, cfg.seed + UNPAIRED_SEED_OFFSET,
                                        rank, world)
            for b in range(pos, steps_per_epoch):
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                batch = torch.utils.data.default_collate([train_set[i] for i in idx])
                if recipe.unpaired:
                    idx_B = order_B[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                    batch["real_B"] = torch.stack([train_set[i]["real_B"] for i in idx_B])
                real_A = batch["real_A"].to(device, memory_format=memory_format, non_blocking=True)
                real_B = batch["real_B"].to(device, memory_format=memory_format, non_blocking=True)
                t_step = time.time()
                try:
                    losses = recipe.train_step(
                        netG_t, netD_t, optG, optD, real_A, real_B, progress=run_progress(),
                        autocast=autocast, scalers=scalers,
                    )
                except Exception as exc:
                    if exe.compile and step == start_step:  # compilation happens in the first step
                        raise CourseError(
                            f"torch.compile failed in the first training step "
                            f"({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); "
                            f"rerun with --no-compile"
                        ) from exc
                    raise
                if ema is not None:
                    ema.update_parameters(netG)
                if step == start_step:
                    first_step_seconds = time.time() - t_step
                lr = optG.param_groups[0]["lr"]
                budget.tick()
                schedG.step()
                if recipe.uses_netD():  # e.g. Pix2Pix's L1 alone never steps optD
                    with warnings.catch_warnings():  # an L1 warm-up steps the schedule before optD
                        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step",
                                                UserWarning)
                        schedD.step()
                step += 1
                log.write(step, epoch, lr, losses)
                if cfg.time_budget:  # the bar counts budget seconds; the postfix counts steps
                    bar.update(min(bar.total, budget.elapsed) - bar.n)
                    bar.set_postfix({"step": step, **{k: f"{v:.3f}" for k, v in losses.items()}},
                                    refresh=False)
                else:
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                over_time = budget.over()
                if distributed and cfg.time_budget is not None:
                    flag = torch.tensor([float(over_time)])
                    dist.all_reduce(flag)
                    over_time = bool(flag.item())
                if step % cfg.save_every == 0 or step >= total_steps or over_time:
                    save()
                if over_time:
                    stopped_by_time = True
                    break
                if step >= total_steps:
                    break
            if stopped_by_time:
                break
            if step % steps_per_epoch == 0:
                if step % cfg.save_every:
                    save()
                if is_main:
                    save_sample_grid(shown_G, sample_batch, out_dir / "samples"
                                     / f"epoch_{step // steps_per_epoch:03d}.png",
                                     device, generate=sample_fn())
    finally:
        bar.close()
        log.close()
    seconds = time.time() - t0
    if is_main:
        save_sample_grid(shown_G, sample_batch, out_dir / "samples" / "final.png", device,
                         generate=sample_fn())
        plot_losses(log.path, out_dir / "losses.png", recipe.plot_groups)
    if distributed:
        dist.barrier()
    images = (step - start_step) * cfg.batch_size * world
    return {
        "step": step, "epoch": step / steps_per_epoch, "seconds": seconds,
        "images_per_second": images / seconds if seconds > 0 else math.nan,
        "checkpoint": str(ckpt_path), "stopped_by_time_budget": stopped_by_time,
        "budget_seconds": round(budget.elapsed - budget.before, 2),
        "first_step_seconds": None if first_step_seconds is None else round(first_step_seconds, 2),
        "execution": exe.describe(),
    }

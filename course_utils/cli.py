"""The ``pix2pix`` command line: ``data fetch``, ``train``, ``eval``, ``translate``, ``export``,
``import-weights``, ``audit`` and ``grade``.

``train --model pix2pix|pix2pixhd|srgan|cyclegan|spade`` picks the model; ``eval`` and
``translate`` rebuild whichever model a checkpoint holds (for ``srgan``: eval
reports PSNR/SSIM on Y with the bicubic baseline, translate upscales ×4); they
also take a run folder or a folder written by ``export`` or ``import-weights``.
Checkpoints are read with ``torch.load(weights_only=True)``: a file that would
run code when unpickled is refused.

Every error caused by bad input (a missing folder, a corrupt image, a
checkpoint from elsewhere) is printed as one line, ``pix2pix: error: ...``,
with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from course_utils.errors import CourseError

DATASET_NAMES = ("maps", "facades", "isbi2012")
PAIRED_DATASETS = ("maps", "facades")
MODEL_NAMES = ("pix2pix", "pix2pixhd", "srgan", "cyclegan", "spade")


def _cmd_fetch(args) -> int:
    from course_utils.data.download import fetch_datasets

    reports = fetch_datasets(args.names, root=args.root, mirror=args.mirror,
                             progress=not args.quiet)
    for r in reports:
        print(r)
    return 0


def execution_overrides(args) -> dict:
    """TrainConfig overrides from ``--plain``, ``--amp``, ``--compile/--no-compile`` and
    ``--channels-last/--no-channels-last``."""
    if args.plain:
        if args.amp not in (None, "off") or args.compile or args.channels_last:
            raise CourseError("--plain is float32, eager and NCHW; "
                              "drop --amp/--compile/--channels-last, or drop --plain")
        return {"amp": "off", "compile": "off", "channels_last": False, "fused_adam": False}
    return {
        "amp": args.amp,
        "compile": None if args.compile is None else ("on" if args.compile else "off"),
        "channels_last": args.channels_last,
    }


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose how a training step runs (not what it computes)."""
    g = parser.add_argument_group("execution (speed only; the step's mathematics is the same)")
    g.add_argument("--amp", choices=("auto", "off", "bf16", "fp16"), default=None,
                   help="mixed precision. auto (default): bf16 on CPUs with AMX/AVX512-BF16 and "
                        "on GPUs with native bf16 (compute capability >= 8.0), fp16 + GradScaler "
                        "on older GPUs, float32 elsewhere; bf16/fp16 are refused where the device "
                        "would emulate them")
    g.add_argument("--compile", dest="compile", action="store_true", default=None,
                   help="torch.compile netG and netD (default on the CPU with bf16 autocast when "
                        "a C++ compiler works)")
    g.add_argument("--no-compile", dest="compile", action="store_false", help="run eagerly")
    g.add_argument("--channels-last", dest="channels_last", action="store_true", default=None,
                   help="channels_last memory format (default: with bf16/fp16 autocast and on "
                        "GPUs; NCHW for float32 on the CPU, where channels_last was measured to be "
                        "slower)")
    g.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                   help="NCHW memory format")
    g.add_argument("--plain", action="store_true",
                   help="the plain step: float32, NCHW, eager, for-loop Adam (for speed "
                        "comparisons)")


LOOP_OPTIONS = ("max_steps", "epochs", "time_budget", "time_budget_clock", "save_every", "seed",
                "batch_size", "lr", "ema")


def _train_overrides(args) -> dict:
    """``config_from_preset`` overrides from the loop's flags and the chosen model's declared
    options.

    Raises:
        CourseError: for a flag that only other models declare (e.g. ``--lambda-cyc`` with
            ``--model pix2pix``).
    """
    from course_utils.training.recipes import all_options

    overrides = {name: getattr(args, name) for name in LOOP_OPTIONS}
    for flag, (opt, models) in all_options().items():
        value = getattr(args, opt.field)
        if value is None or value is False:
            continue
        if args.model not in models:
            raise CourseError(f"{flag} applies to --model {' or '.join(models)}, not {args.model}; "
                              "drop it")
        overrides[opt.field] = value
    return overrides


def _cmd_train(args) -> int:
    from course_utils.device import pick_device
    from course_utils.training.config import config_from_preset
    from course_utils.training.loop import train

    if args.data is None and args.dataset is None:
        raise CourseError("give --dataset maps|facades or --data DIR")
    cfg = config_from_preset(
        args.preset, model=args.model, dataset=None if args.data else args.dataset, data=args.data,
        direction=args.direction, **_train_overrides(args), **execution_overrides(args),
    )
    device = pick_device(args.device) if args.device else None
    summary = train(cfg, args.out, resume=args.resume, device=device, progress=not args.quiet)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one summary
        print(json.dumps(summary))
    return 0


def add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """The model-specific flags, as each recipe declares them
    (:class:`~course_utils.training.recipes.Option`)."""
    from course_utils.training.recipes import all_options

    g = parser.add_argument_group("model options (each applies to the models named in its help)")
    for flag, (opt, models) in sorted(all_options().items()):
        help_text = f"{', '.join(models)}: {opt.help}"
        if opt.type is bool:
            g.add_argument(flag, dest=opt.field, action="store_true", default=None, help=help_text)
        else:
            g.add_argument(flag, dest=opt.field, type=opt.type, choices=opt.choices, default=None,
                           metavar=opt.metavar, help=help_text)


def _eval_segmentation(args, device) -> int:
    """``eval --metric segmentation``: the facades segmenter's scores on a checkpoint's photos or
    (``--real``) the real ones."""
    from course_utils.data.datasets import dataset_folder
    from course_utils.evaluation.segmenter import (
        load_or_train_segmenter,
        score_generator,
        score_real,
    )
    from course_utils.training.checkpoint import generator_from_checkpoint

    if args.dataset != "facades" and not args.data:
        raise CourseError("--metric segmentation scores labels -> photo models on facades: "
                          "give --dataset facades (or --data with a folder of facades photo | "
                          "label pairs)")
    if bool(args.real) == bool(args.checkpoint):
        raise CourseError("--metric segmentation: give either --checkpoint (score its photos) or "
                          "--real (score the real photos: the reference, usually a ceiling)")
    folder = Path(args.data) if args.data else dataset_folder("facades", args.split)
    if not args.real:  # the checkpoint first: a bad one fails before the segmenter is trained
        netG, cfg = generator_from_checkpoint(args.checkpoint, device)
        if cfg.direction != "BtoA":
            raise CourseError(f"{args.checkpoint}: trained {cfg.direction}; the segmentation score "
                              f"needs a labels -> photo model (facades BtoA)")
    net, info = load_or_train_segmenter(progress=not args.quiet)
    if args.real:
        scores = {"source": "real photos", **score_real(net, folder, args.max_images)}
    else:
        scores = {"source": str(args.checkpoint),
                  **score_generator(netG, cfg, net, folder, args.max_images, device)}
    scores["segmenter"] = {"sha256": info["sha256"], "settings": info["settings"]}
    return _report({"metric": "segmentation", **scores}, args)


def _cmd_eval(args) -> int:
    from course_utils.data.datasets import dataset_folder
    from course_utils.device import pick_device
    from course_utils.training.checkpoint import generator_from_checkpoint
    from course_utils.training.recipes import get_recipe

    device = pick_device(args.device)
    if args.metric == "segmentation":
        return _eval_segmentation(args, device)
    if args.real or not args.checkpoint:
        raise CourseError("give --checkpoint (--real only goes with --metric segmentation)")
    netG, cfg = generator_from_checkpoint(args.checkpoint, device)
    if args.direction:
        cfg.direction = args.direction
    if args.data:
        folder = Path(args.data)
    else:
        folder = dataset_folder(args.dataset, args.split)
    recipe = get_recipe(cfg)
    recipe.use_eval_folder(folder, None if args.data else args.dataset)
    dataset = recipe.eval_dataset(folder, max_items=args.max_images, progress=not args.quiet)
    palette = None
    want = (args.palette if args.palette != "auto"
            else ("maps" if args.dataset == "maps" else "none"))
    if not recipe.palette_iou:
        pass  # e.g. super-resolution: photos in, photos out
    elif want == "maps":
        if cfg.direction != "AtoB":
            if args.palette == "maps":
                raise CourseError(f"--palette maps scores generated maps, but {args.checkpoint} "
                                  f"translates {cfg.direction} (map -> aerial); drop --palette")
        else:
            from course_utils.evaluation.palette import maps_palette

            palette = maps_palette()
    elif args.data and args.palette == "auto" and not args.quiet:
        print(f"eval: no palette IoU for --data {args.data}; for maps tiles add --palette maps",
              file=sys.stderr)
    metrics = recipe.evaluate(netG, dataset, device=device, mode=args.mode,
                              batch_size=args.batch_size, palette=palette,
                              save_images=args.save_images, progress=not args.quiet)
    return _report(metrics, args)


def _report(metrics: dict, args) -> int:
    text = json.dumps(metrics, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


def _cmd_translate(args) -> int:
    from course_utils.device import pick_device
    from course_utils.evaluation.evaluate import translate
    from course_utils.training.checkpoint import generator_from_checkpoint
    from course_utils.training.recipes import get_recipe

    device = pick_device(args.device)
    netG, cfg = generator_from_checkpoint(args.checkpoint, device)
    written = translate(netG, args.inputs, args.out, device=device,
                        **get_recipe(cfg).translate_options())
    print(f"wrote {len(written)} image(s) to {args.out}")
    return 0


def _cmd_export(args) -> int:
    from course_utils.training.export import export_generator

    out = export_generator(args.checkpoint, args.out, metrics=args.metrics)
    print(f"wrote {out}/generator.safetensors, config.json and README.md (the model card)")
    return 0


def _cmd_import_weights(args) -> int:
    from course_utils.training.export import import_published

    out = import_published(args.file, args.netG, args.out, direction=args.direction,
                           dataset=None if args.dataset == "none" else args.dataset, ngf=args.ngf)
    print(f"wrote {out}: use it as --checkpoint {out} with pix2pix eval or translate")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pix2pix",
                                description="Pix2Pix course tools (Isola et al., CVPR 2017).")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="fetch and verify data sets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch",
                                help="download (or copy from a mirror) and verify data sets")
    fetch.add_argument("names", nargs="+", choices=DATASET_NAMES, metavar="NAME",
                       help=f"one or more of: {', '.join(DATASET_NAMES)}")
    fetch.add_argument("--root", default=None,
                       help="data root (default: $PIX2PIX_DATA_ROOT or the repo's data/)")
    fetch.add_argument("--mirror", default=None,
                       help="local folder laid out like ../shared/data to copy from "
                            "(default: $PIX2PIX_DATA_MIRROR)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bars")
    fetch.set_defaults(func=_cmd_fetch)

    tr = sub.add_parser("train",
                        help="train Pix2Pix, Pix2PixHD, SRGAN, CycleGAN or SPADE (--model)")
    src = tr.add_mutually_exclusive_group()
    src.add_argument("--dataset", choices=PAIRED_DATASETS, help="a fetched data set")
    src.add_argument("--data",
                     help="your own folder with train/ (and optionally val/) holding A|B images")
    tr.add_argument("--direction", choices=("AtoB", "BtoA"), default=None,
                    help="AtoB (default; maps: aerial -> map) or BtoA")
    tr.add_argument("--model", default="pix2pix", choices=MODEL_NAMES,
                    help="pix2pix (Isola et al. 2017, default), pix2pixhd (Wang et al. 2018), "
                         "srgan (Ledig et al. 2017, x4 super-resolution of the aerial photos), "
                         "cyclegan (Zhu et al. 2017: unpaired, A and B drawn independently) or "
                         "spade (GauGAN, Park et al. 2019; facades labels -> photo); "
                         "eval and translate read it from the checkpoint")
    tr.add_argument("--preset", default="cpu-quick",
                    choices=("smoke", "cpu-quick", "cpu", "paper"),
                    help="cpu-quick (default), smoke, paper; cpu for pix2pix only")
    tr.add_argument("--out", required=True, help="run folder (checkpoints, samples, losses)")
    tr.add_argument("--max-steps", type=int, default=None,
                    help="stop after N steps (replaces --epochs)")
    tr.add_argument("--epochs", type=int, default=None)
    tr.add_argument("--time-budget", type=float, default=None, metavar="MINUTES",
                    help="stop (and checkpoint) after this many minutes of training")
    tr.add_argument("--time-budget-clock", choices=("wall", "cpu"), default=None,
                    help="wall (default): --time-budget counts wall-clock minutes; cpu: CPU "
                         "minutes of the training process (all threads), for equal compute on a "
                         "shared machine")
    tr.add_argument("--save-every", type=int, default=None, metavar="STEPS")
    tr.add_argument("--resume", action="store_true",
                    help="continue from RUN_DIR/checkpoints/latest.pt")
    tr.add_argument("--seed", type=int, default=None)
    tr.add_argument("--device", default=None,
                    help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    tr.add_argument("--batch-size", type=int, default=None)
    tr.add_argument("--lr", type=float, default=None)
    tr.add_argument("--ema", type=float, default=None, metavar="DECAY",
                    help="keep an exponential moving average of netG's weights with this decay "
                         "(cpu-quick: 0.995; 0 = off); samples, eval and translate then use the "
                         "average")
    add_recipe_options(tr)
    add_execution_options(tr)
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=_cmd_train)

    ev = sub.add_parser("eval", help="evaluate a checkpoint on a held-out split")
    ev.add_argument("--checkpoint", default=None,
                    help="the run's checkpoint (latest.pt), its run folder, or an exported folder")
    ev.add_argument("--metric", choices=("default", "segmentation"), default="default",
                    help="default: the pixel and map metrics; segmentation: facades labels -> "
                         "photo, the course's segmenter (trained once on facades train, cached) on "
                         "the generated val photos against the input labels: per-pixel accuracy, "
                         "class accuracy, mean IoU")
    ev.add_argument("--real", action="store_true",
                    help="with --metric segmentation: score the real val photos instead "
                         "(the reference, usually a ceiling)")
    esrc = ev.add_mutually_exclusive_group(required=True)
    esrc.add_argument("--dataset", choices=PAIRED_DATASETS)
    esrc.add_argument("--data", help="a folder of A|B images")
    ev.add_argument("--split", default="val")
    ev.add_argument("--direction", choices=("AtoB", "BtoA"), default=None,
                    help="override the checkpoint's direction (rarely needed)")
    ev.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    ev.add_argument("--save-images", default=None, metavar="DIR",
                    help="write input|generated|target images")
    ev.add_argument("--mode", choices=("eval", "train"), default="eval",
                    help="eval: dropout off, running BatchNorm statistics (default); "
                         "train: the paper's test-time mode, dropout on and batch statistics")
    ev.add_argument("--palette", choices=("auto", "maps", "none"), default="auto",
                    help="map-palette IoU (per class and mean) of generated maps. auto (default): "
                         "with --dataset maps for aerial -> map checkpoints; maps: also for --data "
                         "DIR (a folder of aerial | map tiles); none: off")
    ev.add_argument("--batch-size", type=int, default=8)
    ev.add_argument("--max-images", type=int, default=None)
    ev.add_argument("--device", default=None)
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=_cmd_eval)

    tl = sub.add_parser("translate",
                        help="translate your own images with a checkpoint (srgan: upscale them x4)")
    tl.add_argument("--checkpoint", required=True,
                    help="the run's checkpoint (latest.pt), its run folder, or an exported folder")
    tl.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR")
    tl.add_argument("--out", required=True)
    tl.add_argument("--device", default=None)
    tl.set_defaults(func=_cmd_translate)

    ex = sub.add_parser("export",
                        help="write a checkpoint's generator as safetensors + config.json + model "
                             "card")
    ex.add_argument("checkpoint", metavar="CHECKPOINT",
                    help="RUN_DIR/checkpoints/latest.pt or RUN_DIR")
    ex.add_argument("--out", required=True, help="the folder to write")
    ex.add_argument("--metrics", default=None, metavar="JSON",
                    help="metrics for the model card (pix2pix eval --json); default "
                         "RUN_DIR/metrics.json if present")
    ex.set_defaults(func=_cmd_export)

    im = sub.add_parser("import-weights",
                        help="convert a generator published with pytorch-CycleGAN-and-pix2pix "
                             "(latest_net_G.pth)")
    im.add_argument("file", metavar="FILE",
                    help="the authors' generator state_dict, e.g. latest_net_G.pth")
    im.add_argument("--netG", required=True, choices=("unet_256", "unet_128", "resnet_9blocks"),
                    help="its architecture: unet_256 for the pix2pix models (sat2map, map2sat, "
                         "facades_label2photo), resnet_9blocks for CycleGAN's")
    im.add_argument("--out", required=True, help="the exported folder to write")
    im.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                    help="what it translates on our data: AtoB (default; sat2map: aerial -> map), "
                         "BtoA (map2sat)")
    im.add_argument("--dataset", choices=(*PAIRED_DATASETS, "none"), default="maps",
                    help="the data it was trained on (eval's default and the model card's terms)")
    im.add_argument("--ngf", type=int, default=64,
                    help="filters of its first layer (64 for the published ones)")
    im.set_defaults(func=_cmd_import_weights)

    from course_utils.grading import audit, grade  # course administration: pix2pix audit, grade

    audit.add_parser(sub)
    grade.add_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CourseError as exc:
        print(f"pix2pix: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pix2pix: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

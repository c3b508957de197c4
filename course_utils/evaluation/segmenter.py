"""The segmentation score of generated facades: the FCN-score idea with a segmenter the course
trains itself.

Pix2Pix (Isola et al. 2017, section 4.2, the "FCN-score") and SPADE (Park et
al. 2019, section 4) score label -> photo models by segmenting the generated
photos with a network trained on real photos and comparing the result with
the input labels: if the layout survives the generator, the segmenter finds
it again. Both papers use pretrained segmenters that cannot be downloaded
here, so the course trains its own, once:

- **The segmenter:** the course's Pix2Pix U-Net (:func:`course_utils.models.define_G`,
  ``unet_128``, batch norm, no dropout) with 12 output channels and no tanh
  (logits), trained with cross-entropy on the facades **train** split: photos
  (the left halves) resized to :data:`SEG_SIZE` (bilinear), labels snapped to
  the CMP classes at full size (:func:`course_utils.evaluation.palette.snap_label_map`)
  and resized with nearest neighbours; random horizontal flips; Adam.
- **The cache:** ``<cache dir>/facades_segmenter.pt`` (the weights) and
  ``facades_segmenter.json`` (training settings, the sha256 of the ``.pt``
  file, the number of training files, the training time). A cache whose
  settings, file count or hash differ is retrained.
- **The scores** (:func:`segmentation_scores`): per-pixel accuracy, mean class
  accuracy and mean IoU over the classes present, from one confusion matrix
  summed over the split (:func:`course_utils.evaluation.metrics.confusion_matrix`), at
  :data:`SEG_SIZE` x :data:`SEG_SIZE`, against the snapped **val** labels. On
  the real val photos they are the reference (the papers' "ground truth"
  row), usually a ceiling but not a strict one: a generator's tidy, typical
  facade can be a little easier to segment than the real photo; a generator is
  scored on its outputs for the val label maps (:func:`score_generator`),
  resized to :data:`SEG_SIZE` (bilinear).

``pix2pix eval --metric segmentation --dataset facades --checkpoint CKPT``
scores any labels -> photo checkpoint; ``--real`` scores the real photos.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from course_utils.errors import DataError
from course_utils.evaluation.metrics import confusion_matrix, iou_from_confusion
from course_utils.evaluation.palette import FACADES_CLASSES, snap_label_map

SEG_SIZE = 128
"""Side of the square images the segmenter sees and the scores are computed at (pixels)."""
CACHE_FORMAT = 1


@dataclass(frozen=True)
class SegmenterSettings:
    """How the segmenter is trained (recorded in the cache; a change retrains it)."""

    size: int = SEG_SIZE
    netG: str = "unet_128"
    ngf: int = 16
    steps: int = 800
    batch_size: int = 8
    lr: float = 1e-3
    seed: int = 0
    max_train_items: int | None = None


def load_facades(folder, size: int = SEG_SIZE, max_items: int | None = None,
                 progress: bool = False):
    """Photos and snapped labels of a facades split, at ``size x size``.

    Returns:
        ``(photos, labels, paths)``: ``(N, size, size, 3)`` uint8 RGB (the left
        halves, bilinear), ``(N, size, size)`` int64 CMP class indices (the right
        halves snapped at full size, then nearest-neighbour resized), file paths.

    Raises:
        DataError: missing folder, unreadable file, not a 2:1 pair, or a label
            half that is not a CMP label map (naming the file).
    """
    from course_utils.data.images import list_images

    paths = list_images(Path(folder), max_items)
    photos, labels = [], []
    for p in paths:
        try:
            with Image.open(p) as im:
                im = im.convert("RGB")
        except Exception as e:  # any decoding failure: name the file
            raise DataError(f"{p}: cannot read it as an image ({type(e).__name__}: {e})") from e
        w, h = im.size
        if w != 2 * h:
            raise DataError(f"{p}: not a 2:1 photo | label pair ({w}x{h} px)")
        photos.append(np.asarray(im.crop((0, 0, h, h)).resize((size, size), Image.BILINEAR)))
        lab = snap_label_map(np.asarray(im.crop((h, 0, w, h))), what=f"{p} (label half)")
        labels.append(np.asarray(Image.fromarray(lab.astype(np.uint8)).resize((size, size),
                                                                             Image.NEAREST)))
    return np.stack(photos), np.stack(labels).astype(np.int64), paths


def build_segmenter(settings: SegmenterSettings = SegmenterSettings()) -> nn.Module:
    """The U-Net with ``len(FACADES_CLASSES)`` logit channels: ``(N, 3, S, S)`` in ``[-1, 1]`` ->
    ``(N, 12, S, S)``."""
    from course_utils.models import define_G

    net = define_G(settings.netG, 3, len(FACADES_CLASSES), settings.ngf, norm="batch", dropout=0.0)
    assert isinstance(net.model.up[-1], nn.Tanh)
    net.model.up[-1] = nn.Identity()  # logits for the cross-entropy
    return net


def _to_input(photos: np.ndarray) -> torch.Tensor:
    # ``photos`` may be a read-only view (decoded images): torch.as_tensor copies it into a
    # writable tensor
    return torch.as_tensor(np.array(photos)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def train_segmenter(train_folder, settings: SegmenterSettings = SegmenterSettings(),
                    progress: bool = True):
    """Train the segmenter on a facades training split; returns ``(net in eval mode, info
    dict)``."""
    from tqdm.auto import tqdm

    torch.manual_seed(settings.seed)
    photos, labels, _ = load_facades(train_folder, settings.size, settings.max_train_items)
    x_all, y_all = _to_input(photos), torch.from_numpy(labels)
    net = build_segmenter(settings).train()
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(settings.seed)
    t0, losses = time.process_time(), []
    for step in tqdm(range(settings.steps), desc="segmenter", disable=not progress):
        idx = torch.randint(0, len(x_all), (settings.batch_size,), generator=g)
        x, y = x_all[idx], y_all[idx]
        flip = torch.rand(len(idx), generator=g) < 0.5
        x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
        # constant, then linear decay over the second half
        lr = settings.lr * min(1.0, 2 * (1 - step / settings.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    info = {"n_train_files": len(x_all), "train_cpu_seconds": round(time.process_time() - t0, 1),
            "final_loss": round(float(np.mean(losses[-50:])), 4)}
    return net.eval(), info


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


DEFAULT_SETTINGS = SegmenterSettings()
"""The settings of the course's segmenter: 800 steps of batch 8 at 128 px (a few CPU minutes on a
2-core CPU)."""


def load_or_train_segmenter(root=None, settings: SegmenterSettings | None = None, cache_file=None,
                            progress: bool = True):
    """The cached facades segmenter, trained on ``<root>/facades/train`` first if the cache does
    not match.

    Returns:
        ``(net in eval mode, info)``; ``info`` holds the settings, the sha256 of
        the weights file and the training time.
    """
    from course_utils.data.datasets import dataset_folder
    from course_utils.data.images import list_images
    from course_utils.paths import cache_dir

    settings = settings if settings is not None else DEFAULT_SETTINGS
    train_dir = dataset_folder("facades", "train", root)
    weights = Path(cache_file) if cache_file else cache_dir() / "facades_segmenter.pt"
    meta_path = weights.with_suffix(".json")
    n_files = len(list_images(train_dir, settings.max_train_items))
    if weights.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            if (meta.get("format") == CACHE_FORMAT and meta.get("settings") == asdict(settings)
                    and meta.get("n_train_files") == n_files
                    and meta.get("sha256") == _sha256(weights)):
                net = build_segmenter(settings)
                net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
                return net.eval(), meta
        except (OSError, ValueError, KeyError, RuntimeError):
            pass  # retrain below
    if progress:
        print(f"training the facades segmenter on {train_dir} ({settings.steps} steps; "
              f"cached in {weights})", flush=True)
    net, info = train_segmenter(train_dir, settings, progress)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tmp = weights.with_suffix(".tmp")
    torch.save(net.state_dict(), tmp)
    tmp.replace(weights)
    meta = {"format": CACHE_FORMAT, "settings": asdict(settings), "sha256": _sha256(weights),
            "source": str(train_dir), **info,
            "note": "Trained by course_utils.evaluation.segmenter on the facades train split; "
                    "derived data, do not commit."}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return net, meta


@torch.no_grad()
def segment(net: nn.Module, photos: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Class indices ``(N, S, S)`` of uint8 photos ``(N, S, S, 3)`` (``S`` a multiple of 128 for
    ``unet_128``)."""
    net.eval()
    out = [net(_to_input(photos[i : i + batch_size])).argmax(1).numpy()
           for i in range(0, len(photos), batch_size)]
    return np.concatenate(out)


def segmentation_scores(pred: np.ndarray, target: np.ndarray) -> dict:
    """Per-pixel accuracy, mean class accuracy and mean IoU of ``pred`` against ``target`` (both
    ``(N, H, W)``).

    One confusion matrix over all pixels of the split; classes absent from
    ``target`` are left out of the class means (IoU NaN when absent from both).
    """
    n = len(FACADES_CLASSES)
    cm = confusion_matrix(target, pred, n)  # rows: true class, columns: predicted
    iou = iou_from_confusion(cm)
    present = cm.sum(1) > 0
    class_acc = np.diag(cm)[present] / cm.sum(1)[present]
    return {"pixel_accuracy": float(np.trace(cm) / cm.sum()),
            "mean_class_accuracy": float(class_acc.mean()),
            "mean_iou": float(np.nanmean(iou[present])),
            "iou": {name: (None if np.isnan(v) else round(float(v), 4))
                    for name, v in zip(FACADES_CLASSES, iou, strict=False)}}


def score_real(net: nn.Module, val_folder, max_items: int | None = None) -> dict:
    """The segmenter on the real val photos against their labels: the reference (usually a
    ceiling)."""
    photos, labels, _ = load_facades(val_folder, SEG_SIZE, max_items)
    return {"n_images": len(photos), **segmentation_scores(segment(net, photos), labels)}


@torch.no_grad()
def generate_photos(netG: nn.Module, cfg, val_folder, max_items: int | None = None, device="cpu",
                    batch_size: int = 8) -> np.ndarray:
    """``netG``'s photos for the val label maps (input at ``cfg.eval_size``), uint8
    ``(N, SEG_SIZE, SEG_SIZE, 3)``."""
    from course_utils.evaluation.metrics import to_uint8
    from course_utils.training.loop import eval_dataset

    data = eval_dataset(val_folder, cfg, max_items=max_items, progress=False)
    was = netG.training
    netG.eval()
    out = []
    for i in range(0, len(data), batch_size):
        real_A = torch.stack([data[j]["real_A"]
                              for j in range(i, min(i + batch_size, len(data)))]).to(device)
        fake = to_uint8(netG(real_A).float().cpu())
        out += [np.asarray(Image.fromarray(f).resize((SEG_SIZE, SEG_SIZE), Image.BILINEAR))
                for f in fake]
    netG.train(was)
    return np.stack(out)


def score_generator(netG: nn.Module, cfg, net: nn.Module, val_folder, max_items: int | None = None,
                    device="cpu") -> dict:
    """The segmenter on ``netG``'s photos for the val label maps, against those labels."""
    _, labels, _ = load_facades(val_folder, SEG_SIZE, max_items)
    fake = generate_photos(netG, cfg, val_folder, max_items, device)
    return {"n_images": len(fake), **segmentation_scores(segment(net, fake), labels)}

"""Copied answers: graded cells near-identical to the ``course_utils`` reference, or to another
student's.

``pix2pix audit --copies`` runs it. Each answer is what the student wrote in a graded cell: the
lines of the submitted cell that are not in the released cell (the skeleton, signatures and
docstrings that every student receives are left out). Two texts are compared with copydetect's
winnowing fingerprints (Schleimer, Wilkerson and Aiken, SIGMOD 2003, the method of MOSS): both are
tokenised by Pygments with every identifier, function name and string replaced by one letter (so
renaming variables or rewording strings changes nothing), then every ``K``-gram of that text is
hashed. The *similarity* of answer ``a`` to text ``b`` is the share of ``a``'s filtered text covered
by k-grams that ``b`` has too. Every k-gram is kept (a winnowing window of 1): cells are small, and
copydetect hashes with Python's ``hash``, which changes from one process to the next, so a wider
window would pick different fingerprints, and report different numbers, on every run.

Thresholds grow as answers get shorter (:func:`threshold`): a short answer has few natural forms,
so two students may write the same one honestly. Answers shorter than :data:`MIN_LENGTH` filtered
characters are never flagged; the rates measured on independently written correct answers are in
docs/instructors.md.

A finding is a reason for a human to look, not a verdict.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import io
import itertools
from dataclasses import asdict, dataclass
from pathlib import Path

K = 25
"""Length of the hashed k-grams, in characters of the filtered text (about one token each)."""
WINDOW = 1
"""Winnowing window, in k-grams: 1 keeps every k-gram, so the result is deterministic."""
MIN_LENGTH = 60
"""Answers shorter than this (filtered characters) are not judged: one natural form."""

NATURAL_FORM: dict[tuple[str, str], float] = {
    # The lesson gives every layer's name, shape and order, and the paper's code is the natural
    # form: an independent correct answer shared 80 % of its text with the reference.
    ("06_gaugan", "spade_resblock"): 0.9,
}
"""Raised thresholds for cells whose lesson dictates the answer's structure line by line."""

# The course_utils objects each graded cell re-implements, by notebook and grade_id.
REFERENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "01_unet": {
        "crop": ("course_utils.models.unet:crop",),
        "contracting_block": ("course_utils.models.unet:ContractingBlock",),
        "expanding_block": ("course_utils.models.unet:ExpandingBlock",),
        "feature_map_block": ("course_utils.models.unet:FeatureMapBlock",),
        "unet": ("course_utils.models.unet:UNet",),
        "skip_block": ("course_utils.models.generator:UnetBlock",),
    },
    "02_patchgan": {
        "patchgan": ("course_utils.models.discriminator:PatchGANDiscriminator",),
        "receptive_field": ("course_utils.models.discriminator:receptive_field",),
        "discriminator_loss": ("course_utils.losses.objectives:discriminator_loss",),
    },
    "03_l1_term": {
        "generator_loss": ("course_utils.losses.objectives:generator_loss",),
        "train_step": ("course_utils.training.recipes.pix2pix:train_step",),
    },
    "05_pix2pixhd": {
        "multiscale_D": ("course_utils.models.pix2pixhd:MultiscaleDiscriminator",),
        "feature_matching": ("course_utils.losses.perceptual:feature_matching_loss",),
        "local_enhancer": ("course_utils.models.pix2pixhd:LocalEnhancer",),
        "schedule": ("course_utils.training.recipes.pix2pixhd:stage_at",
                     "course_utils.training.recipes.pix2pixhd:hd_train_step"),
    },
    "06_gaugan": {
        "spade_layer": ("course_utils.models.spade:SPADE",),
        "spade_resblock": ("course_utils.models.spade:SPADEResnetBlock",),
        "hinge_losses": ("course_utils.losses.gan:hinge_d_loss",
                         "course_utils.losses.gan:hinge_g_loss"),
        "vae_sampling": ("course_utils.models.spade:SPADEGenerator",
                         "course_utils.losses.pixel:kl_divergence"),
    },
    "07_srgan": {
        "subpixel": ("course_utils.models.srgan:SubPixelUpsample",),
        "residual_block": ("course_utils.models.srgan:ResidualBlock",),
        "srgan_loss": ("course_utils.training.recipes.srgan:sr_train_step",),
        "vgg54_loss": ("course_utils.losses.perceptual:VGG54Loss",),
        "psnr_y": ("course_utils.evaluation.metrics:luma_y",
                   "course_utils.evaluation.metrics:psnr_y"),
    },
    "08_beyond": {
        "cycle_losses": ("course_utils.losses.pixel:cycle_consistency_loss",
                         "course_utils.losses.pixel:identity_loss"),
        "cyclegan_step": ("course_utils.training.recipes.cyclegan:cyclegan_step",),
        "image_pool": ("course_utils.training.recipes.cyclegan:ImagePool",),
        "temporal_consistency": ("course_utils.evaluation.video:temporal_consistency",),
        "radial_spectrum": ("course_utils.evaluation.spectrum:power_spectrum_2d",
                            "course_utils.evaluation.spectrum:radial_power_spectrum"),
    },
}


@dataclass
class Copy:
    """One flagged answer: ``student``'s cell ``cell_id`` against the reference or ``other``."""

    notebook: str
    cell_id: str
    student: str
    other: str
    similarity: float
    length: int
    threshold: float

    def __str__(self) -> str:
        return (f"{self.notebook} cell {self.cell_id}: {self.student} vs {self.other}: "
                f"{self.similarity:.0%} of {self.length} filtered characters shared "
                f"(threshold {self.threshold:.0%} at this length)")


def threshold(length: int, cell: tuple[str, str] | None = None) -> float | None:
    """The similarity above which an answer of ``length`` filtered characters is flagged, or
    ``None`` below :data:`MIN_LENGTH`: 0.9 at 60 characters, falling linearly to 0.6 at 600 and
    beyond; at least :data:`NATURAL_FORM`'s value for ``cell = (notebook, grade_id)``."""
    if length < MIN_LENGTH:
        return None
    return max(0.6, 0.9 - 0.3 * (length - MIN_LENGTH) / 540, NATURAL_FORM.get(cell, 0.0))


def _fingerprint(code: str):
    from copydetect import CodeFingerprint

    return CodeFingerprint("answer.py", K, WINDOW, fp=io.StringIO(code), language="python")


def filtered_length(code: str) -> int:
    """Length of ``code`` after copydetect's filter (identifiers and strings one letter each,
    spaces and comments dropped)."""
    return len(_fingerprint(code).filtered_code)


def similarity(a: str, b: str) -> tuple[float, float]:
    """``(share of a found in b, share of b found in a)``, each in ``[0, 1]``."""
    from copydetect import compare_files

    fa, fb = _fingerprint(a), _fingerprint(b)
    if not len(fa.hashes) or not len(fb.hashes):
        return 0.0, 0.0
    _, (sa, sb), _ = compare_files(fa, fb)
    return float(sa), float(sb)


def _strip_docstrings(source: str) -> str:
    """``source`` without docstrings and comments (a reference's prose is not code to copy)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            body[0] = ast.Pass()
    return ast.unparse(tree)


def reference_text(notebook: str, cell_id: str) -> str | None:
    """The source of the ``course_utils`` objects that cell ``cell_id`` of ``notebook`` (its
    folder name, e.g. ``"05_pix2pixhd"``) re-implements, docstrings removed; ``None`` where the
    course has none (notebook 4's cells)."""
    parts = []
    for target in REFERENCES.get(notebook, {}).get(cell_id, ()):
        module, _, name = target.partition(":")
        obj = getattr(importlib.import_module(module), name)
        parts.append(_strip_docstrings(inspect.getsource(obj)))
    return "\n\n".join(parts) or None


def _cells(nb) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def student_lines(submitted: str, released: str | None) -> str:
    """The lines of ``submitted`` that the student wrote: those not in ``released`` (matched in
    order, as a diff does)."""
    if not released:
        return submitted
    old, new = released.split("\n"), submitted.split("\n")
    out = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, old, new,
                                                       autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            out += new[j1:j2]
    return "\n".join(out)


def answers(notebook, release=None) -> dict[str, str]:
    """``{grade_id: the student's lines}`` of every graded code cell of ``notebook``."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    released = _cells(nbformat.read(str(release), as_version=4)) if release else {}
    return {cid: student_lines(src, released.get(cid)) for cid, src in _cells(nb).items()}


def find_copies(submissions: dict[str, Path], release=None, notebook: str | None = None,
                pairs: bool = True) -> list[Copy]:
    """Answers near-identical to the reference, and (``pairs``) pairs of students with
    near-identical answers.

    Args:
        submissions: ``{student: notebook path}``, all of one assignment.
        release: the release notebook they came from (its skeleton is left out of the answers).
        notebook: the assignment's folder name (e.g. ``"05_pix2pixhd"``) for :data:`REFERENCES`;
            default: the release's (or first submission's) file stem.

    Returns:
        One :class:`Copy` per flagged (student, cell, reference or other student); a pair is
        reported once, under the first student in sorted order.
    """
    first = Path(release) if release else Path(next(iter(submissions.values())))
    notebook = notebook or first.stem
    texts = {student: answers(path, release) for student, path in sorted(submissions.items())}
    found: list[Copy] = []
    cell_ids = sorted({cid for t in texts.values() for cid in t})
    for cid in cell_ids:
        ref = reference_text(notebook, cid)
        lengths = {s: filtered_length(t[cid]) for s, t in texts.items() if cid in t}
        if ref:
            for student, length in lengths.items():
                limit = threshold(length, (notebook, cid))
                if limit is None:
                    continue
                share, _ = similarity(texts[student][cid], ref)
                if share >= limit:
                    found.append(Copy(notebook, cid, student, "course_utils reference",
                                      round(share, 3), length, round(limit, 3)))
        if pairs:
            for a, b in itertools.combinations(sorted(lengths), 2):
                length = min(lengths[a], lengths[b])
                limit = threshold(length, (notebook, cid))
                if limit is None:
                    continue
                share = min(similarity(texts[a][cid], texts[b][cid]))
                if share >= limit:
                    found.append(Copy(notebook, cid, a, b, round(share, 3), length,
                                      round(limit, 3)))
    return found


def copies_json(found: list[Copy]) -> list[dict]:
    return [asdict(c) for c in found]

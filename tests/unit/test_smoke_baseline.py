"""No behaviour change: each model's seeded smoke run writes the ``losses.jsonl`` it wrote before.

The baselines in ``tests/baselines/`` were written by this file
(``python tests/unit/test_smoke_baseline.py --write``) before ``course_utils`` was rearranged; a run
today must reproduce them byte for byte. Float32, eager, one thread: the only freedom left is the
CPU's kernels. On a machine whose vector units or torch version differ from the baselines'
(``machine.json``), the last digits of a loss may differ, so there the test compares at a relative
tolerance of 1e-3 and says so in its name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

BASELINES = Path(__file__).resolve().parents[1] / "baselines"
MODELS = ("pix2pix", "pix2pixhd", "srgan", "cyclegan", "spade")


def machine() -> dict:
    from course_utils.results import machine as describe

    m = describe()
    return {"torch": torch.__version__.split("+")[0], "vector_units": m.get("vector_units")}


def smoke_run(model: str, root: Path) -> str:
    """The smoke preset of ``model`` for 6 steps on synthetic data; returns its ``losses.jsonl``."""
    from helpers import write_facades, write_pairs

    from course_utils.training.config import config_from_preset
    from course_utils.training.loop import train

    torch.set_num_threads(1)
    data = root / "data"
    if not data.exists():
        if model == "spade":
            write_facades(data / "train", 8, seed=1)
            write_facades(data / "val", 4, seed=50)
        else:
            write_pairs(data / "train", 12, seed=1)
            write_pairs(data / "val", 4, seed=2)
    cfg = config_from_preset(
        "smoke",
        model=model,
        dataset=None,
        data=str(data),
        max_steps=6,
        seed=0,
        amp="off",
        compile="off",
        channels_last=False,
        **({"use_vae": True} if model == "spade" else {}),
    )
    train(cfg, root / "run", progress=False)
    return (root / "run" / "losses.jsonl").read_text()


@pytest.mark.parametrize("model", MODELS)
def test_smoke_losses_unchanged(model, tmp_path):
    expected = (BASELINES / f"smoke_{model}.jsonl").read_text()
    got = smoke_run(model, tmp_path)
    if machine() == json.loads((BASELINES / "machine.json").read_text()):
        assert got == expected, f"{model}: the seeded smoke run's losses.jsonl changed"
        return
    rows = [json.loads(line) for line in got.splitlines()]
    ref = [json.loads(line) for line in expected.splitlines()]
    assert [r.keys() for r in rows] == [r.keys() for r in ref]
    for r, e in zip(rows, ref):
        for k, v in e.items():
            assert r[k] == pytest.approx(v, rel=1e-3, abs=1e-5), (model, r["step"], k)


def test_a_checkpoint_written_before_the_layout_change_still_loads():
    """``pix2pix_smoke_before_layout.pt``: a 2-step smoke netG saved before the move (NumPy RNG
    state too)."""
    from course_utils.training.checkpoint import generator_from_checkpoint

    netG, cfg = generator_from_checkpoint(BASELINES / "pix2pix_smoke_before_layout.pt")
    io = torch.load(BASELINES / "pix2pix_smoke_before_layout_io.pt", weights_only=True)
    assert cfg.model == "pix2pix" and cfg.netG == "unet_32"
    with torch.no_grad():
        torch.testing.assert_close(netG(io["input"]), io["output"], rtol=1e-4, atol=1e-5)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    BASELINES.mkdir(exist_ok=True)
    for name in MODELS:
        with tempfile.TemporaryDirectory() as tmp:
            (BASELINES / f"smoke_{name}.jsonl").write_text(smoke_run(name, Path(tmp)))
    (BASELINES / "machine.json").write_text(json.dumps(machine(), indent=1) + "\n")

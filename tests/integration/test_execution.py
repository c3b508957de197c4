"""The execution path: the precision choice on CPUs and GPUs (capability queries patched), compile
fallback, the plain path, what `pix2pix train` states and records, and the benchmark's JSON."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils import cli
from course_utils.errors import CourseError
from course_utils.training import execution, precision
from course_utils.training.execution import choose_execution
from course_utils.training.precision import PrecisionError, choose_precision

ROOT = Path(__file__).resolve().parents[2]


def fake_cpu(monkeypatch, amx=False, avx512_bf16=False):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)


def fake_gpu(monkeypatch, capability, bf16_native, bf16_emulated=True):
    """A CUDA device of ``capability``; is_bf16_supported answers like PyTorch's (T4: only with
    emulation)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)

    def is_bf16_supported(including_emulation=True):
        return bf16_native or (including_emulation and bf16_emulated)

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)


# ---------------------------------------------------------------------- CPU


@pytest.mark.parametrize(
    ("amx", "avx", "unit"), [(True, True, "AMX"), (False, True, "AVX512-BF16")]
)
def test_cpu_with_native_bf16_gets_bf16(monkeypatch, amx, avx, unit):
    fake_cpu(monkeypatch, amx=amx, avx512_bf16=avx)
    p = choose_precision("cpu")
    assert (p.amp, p.dtype, p.needs_scaler) == ("bf16", torch.bfloat16, False)
    assert p.reason == f"bf16 autocast ({unit})"
    with p.autocast():
        y = torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3))
    assert y.dtype == torch.bfloat16
    assert choose_precision("cpu", "bf16").amp == "bf16"


def test_cpu_without_native_bf16_stays_fp32_and_refuses_bf16(monkeypatch):
    fake_cpu(monkeypatch)
    p = choose_precision("cpu")
    assert p.amp == "off" and p.autocast is None and "no native bf16" in p.reason
    with pytest.raises(PrecisionError, match="neither AMX nor AVX512-BF16.*--amp off"):
        choose_precision("cpu", "bf16")
    with pytest.raises(PrecisionError, match="fp16"):
        choose_precision("cpu", "fp16")
    with pytest.raises(PrecisionError, match="amp must be one of"):
        choose_precision("cpu", "fp8")


def test_cli_refuses_emulated_bf16_in_one_line(monkeypatch, pairs_root, tmp_path, capsys):
    fake_cpu(monkeypatch)
    code = cli.main(
        [
            "train",
            "--data",
            str(pairs_root),
            "--preset",
            "smoke",
            "--out",
            str(tmp_path / "r"),
            "--amp",
            "bf16",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith("pix2pix: error: --amp bf16: this CPU has neither AMX nor AVX512-BF16")


# ---------------------------------------------------------------------- GPU


def test_t4_gets_fp16_with_grad_scalers(monkeypatch):
    # A Colab T4 (7.5) reports bf16 as supported through emulation; that is slow, so fp16 + scaler.
    fake_gpu(monkeypatch, (7, 5), bf16_native=False, bf16_emulated=True)
    assert torch.cuda.is_bf16_supported()  # the trap: True with emulation
    p = choose_precision("cuda")
    assert (p.amp, p.needs_scaler) == ("fp16", True)
    assert "7.5" in p.reason and "GradScaler" in p.reason
    with pytest.raises(PrecisionError, match="no native bfloat16.*--amp fp16"):
        choose_precision("cuda", "bf16")


@pytest.mark.parametrize("capability", [(8, 0), (9, 0)])
def test_ampere_and_newer_get_bf16_without_scaler(monkeypatch, capability):
    fake_gpu(monkeypatch, capability, bf16_native=True)
    p = choose_precision("cuda:0")
    assert (p.amp, p.needs_scaler) == ("bf16", False) and p.grad_scalers() is None
    assert choose_precision("cuda", "fp16").needs_scaler
    assert choose_precision("cuda", "off").amp == "off"


def test_capability_is_checked_even_if_bf16_claims_native(monkeypatch):
    fake_gpu(monkeypatch, (7, 0), bf16_native=True)
    assert choose_precision("cuda").amp == "fp16"


def test_gpu_compile_is_opt_in(monkeypatch):
    fake_gpu(monkeypatch, (8, 0), bf16_native=True)
    exe = choose_execution("cuda")
    assert not exe.compile and "--compile" in exe.compile_note
    assert exe.precision.amp == "bf16" and exe.fused_adam and exe.channels_last


# ---------------------------------------------------------------------- compile and the plain path


def test_compile_falls_back_cleanly_and_says_why(monkeypatch):
    fake_cpu(monkeypatch, amx=True)
    monkeypatch.setattr(
        execution, "compiler_problem", lambda: "no C++ compiler found (install g++ or set CXX)"
    )
    exe = choose_execution("cpu", compile="auto")
    assert not exe.compile
    assert "eager (no C++ compiler found" in exe.describe()
    with pytest.raises(CourseError, match="--compile: no C\\+\\+ compiler found.*--no-compile"):
        choose_execution("cpu", compile="on")
    assert not choose_execution("cpu", compile="auto", distributed=True).compile


def test_auto_compiles_on_the_cpu_only_with_bf16(monkeypatch):
    # Measured: compiling the float32 step gained nothing on a CPU without native bf16, and costs a
    # minute.
    monkeypatch.setattr(execution, "compiler_problem", lambda: "")
    fake_cpu(monkeypatch, amx=True)
    assert choose_execution("cpu").compile
    assert not choose_execution("cpu", amp="off").compile
    fake_cpu(monkeypatch)
    exe = choose_execution("cpu")
    assert (exe.precision.amp, exe.compile) == ("off", False)
    assert "eager (compile pays on the CPU only with bf16 autocast: --compile)" in exe.describe()
    assert choose_execution("cpu", compile="on").compile  # still there when asked for


def test_channels_last_by_default_only_with_mixed_precision_or_on_gpus(monkeypatch):
    # Measured: float32 on the CPU ran the paper step slower in channels_last than in NCHW.
    fake_cpu(monkeypatch, amx=True)
    assert choose_execution("cpu", compile="off").channels_last
    assert not choose_execution("cpu", amp="off", compile="off").channels_last
    assert choose_execution("cpu", amp="off", compile="off", channels_last=True).channels_last
    fake_cpu(monkeypatch)
    exe = choose_execution("cpu", compile="off")
    assert not exe.channels_last and exe.memory_format == torch.contiguous_format
    assert exe.describe() == "cpu: float32 (this CPU has no native bf16), NCHW, eager, fused Adam"
    fake_gpu(monkeypatch, (7, 5), bf16_native=False)
    assert choose_execution("cuda").channels_last


@pytest.mark.parametrize(("flags", "expected"), [([], None), (["--channels-last"], True),
                                                 (["--no-channels-last"], False)])
def test_channels_last_flags(flags, expected):
    parser = argparse.ArgumentParser()
    cli.add_execution_options(parser)
    assert cli.execution_overrides(parser.parse_args(flags))["channels_last"] is expected


def test_plain_path_is_fp32_nchw_eager_forloop_adam():
    exe = choose_execution("cpu", amp="off", compile="off", channels_last=False, fused_adam=False)
    assert exe.is_plain
    assert exe.describe() == "cpu: plain path: float32, NCHW, eager, for-loop Adam"
    assert exe.memory_format == torch.contiguous_format and exe.precision.autocast is None


def test_train_states_and_records_its_path(pairs_root, tmp_path):
    def run(*extra):
        out = tmp_path / f"run{len(extra)}"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "course_utils.cli",
                "train",
                "--data",
                str(pairs_root),
                "--preset",
                "smoke",
                "--max-steps",
                "2",
                "--out",
                str(out),
                "--quiet",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()[0], json.loads((out / "config.json").read_text())

    first, cfg = run()
    expected = choose_execution("cpu", compile="off").describe()  # the smoke preset never compiles
    assert first == f"pix2pix train: {expected}"
    assert cfg["execution"]["description"] == expected and cfg["compile"] == "off"
    first, cfg = run("--plain")
    assert first == "pix2pix train: cpu: plain path: float32, NCHW, eager, for-loop Adam"
    assert cfg["amp"] == "off" and not cfg["channels_last"] and not cfg["fused_adam"]
    assert cfg["execution"] == {
        **cfg["execution"],
        "amp": "off",
        "compile": False,
        "fused_adam": False,
    }


def test_plain_flag_conflicts_with_amp(pairs_root, tmp_path, capsys):
    code = cli.main(
        [
            "train",
            "--data",
            str(pairs_root),
            "--out",
            str(tmp_path / "r"),
            "--plain",
            "--amp",
            "bf16",
        ]
    )
    assert code == 2 and "--plain is float32" in capsys.readouterr().err


def test_fused_and_forloop_adam_take_the_same_step():
    torch.manual_seed(0)
    a = torch.nn.Linear(8, 4)
    b = torch.nn.Linear(8, 4)
    b.load_state_dict(a.state_dict())
    opts = [torch.optim.Adam(a.parameters(), lr=1e-2, betas=(0.5, 0.999)),
            torch.optim.Adam(b.parameters(), lr=1e-2, betas=(0.5, 0.999), fused=True)]
    x = torch.randn(16, 8)
    for _ in range(3):
        for net, opt in zip((a, b), opts):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    torch.testing.assert_close(a.weight, b.weight)


def _conv_net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 4, 2, 1),
        torch.nn.BatchNorm2d(8),
        torch.nn.LeakyReLU(0.2),
        torch.nn.ConvTranspose2d(8, 3, 4, 2, 1),
        torch.nn.Conv2d(3, 3, 1),
    )
    return net.to(memory_format=torch.channels_last)


def _train(net, opt, steps: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(2, 3, 8, 8, generator=g).to(memory_format=torch.channels_last)
        opt.zero_grad(set_to_none=True)
        net(x).square().mean().backward()
        opt.step()


def test_channels_last_fused_adam_takes_pytorchs_fused_step_bit_for_bit():
    a, b = _conv_net(), _conv_net()
    ref = torch.optim.Adam(a.parameters(), lr=1e-2, betas=(0.5, 0.999), fused=True)
    ours = execution.adam(b.parameters(), lr=1e-2, betas=(0.5, 0.999), fused=True)
    assert isinstance(ours, execution.ChannelsLastFusedAdam)
    _train(a, ref, 4)
    _train(b, ours, 4)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(pa, pb), name
        assert pb.shape == pa.shape and pb.stride() == pa.stride(), f"{name}: layout changed"
        for key in ("exp_avg", "exp_avg_sq"):
            sa, sb = ref.state[pa][key], ours.state[pb][key]
            assert torch.equal(sa, sb) and sb.shape == pb.shape and sb.stride() == pb.stride(), (
                f"{name} {key}"
            )
    flat = [p for p in b.parameters() if p.dim() == 4 and not p.is_contiguous()]
    assert len(flat) == 2, (
        "the two 4x4 weights are channels_last (the 1x1 one counts as contiguous)"
    )
    # ... and no gradient is copied (PyTorch's own fused step copies each channels_last gradient)
    for opt in (ref, ours):
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            opt.step()
        copies = [e.name for e in prof.events() if e.name == "aten::clone"]
        assert len(copies) == (2 if opt is ref else 0), (type(opt).__name__, copies)


def test_channels_last_fused_adam_checkpoint_round_trip_and_plain_layout_state(tmp_path):
    a, b = _conv_net(), _conv_net()
    opt_a = execution.adam(a.parameters(), lr=1e-2, betas=(0.5, 0.999), fused=True)
    _train(a, opt_a, 2)
    torch.save({"net": a.state_dict(), "opt": opt_a.state_dict()}, tmp_path / "ckpt.pt")
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    # moments saved in the plain NCHW layout (as by the plain path) are taken over once
    for st in ckpt["opt"]["state"].values():
        for key in ("exp_avg", "exp_avg_sq"):
            st[key] = st[key].contiguous()
    b.load_state_dict(ckpt["net"])
    opt_b = execution.adam(b.parameters(), lr=1e-2, betas=(0.5, 0.999), fused=True)
    opt_b.load_state_dict(ckpt["opt"])
    _train(a, opt_a, 3, seed=2)
    _train(b, opt_b, 3, seed=2)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
        assert opt_b.state[pb]["exp_avg"].stride() == pb.stride()


def test_adam_without_fused_is_pytorchs_plain_adam():
    opt = execution.adam(_conv_net().parameters(), lr=1e-3, betas=(0.5, 0.999))
    assert type(opt) is torch.optim.Adam and not opt.defaults["fused"]


# ---------------------------------------------------------------------- the benchmark


def test_benchmark_prints_one_json_line():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_throughput.py"), "--config", "smoke",
         "--rounds", "2", "--steps", "1", "--warmup", "1", "--compile", "off", "--no-record"],
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert (
        out["gflop_per_step"] > 0
        and 0 < out["fraction_of_peak"]
        and out["peak_gflops_per_second"] > 0
    )
    for key in (
        "images_per_second",
        "plain_images_per_second",
        "speedup",
        "path",
        "compile_seconds",
    ):
        assert key in out, key
    assert out["plain_path"] == "cpu: plain path: float32, NCHW, eager, for-loop Adam"
    assert (
        out["cpu_model"] and out["cpu_bf16"] == precision.cpu_bf16_support()
    )  # which CPU ran, and its bf16
    assert len(out["rounds_seconds_per_step"]["plain"]) == 2
    assert out["speedup"] == pytest.approx(
        out["plain_seconds_per_step"] / out["seconds_per_step"], rel=0.02
    )


def test_adam_benchmark_prints_one_json_line_with_the_same_update():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "adam_step.py"),
            "--config",
            "smoke",
            "--rounds",
            "2",
            "--no-record",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert set(out["ms_per_step"]) == {"course", "torch_fused", "for_loop"}
    assert out["max_param_difference_course_vs_torch_fused"] == 0.0


def test_precision_module_is_the_one_source():
    # The trainer and the benchmark choose through course_utils.training.execution -> precision;
    # nothing else in the package calls torch.cuda.is_bf16_supported.
    hits = [
        p.name
        for p in (ROOT / "course_utils").rglob("*.py")
        if "is_bf16_supported" in p.read_text()
    ]
    assert hits == ["precision.py"]
    assert precision.choose_precision is execution.choose_precision

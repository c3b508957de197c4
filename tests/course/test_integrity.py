"""The grading helpers cannot be switched off from the kernel they run in
(course_utils.grading.integrity).

Tampering happens in a subprocess (it would poison this test process): one script applies each
trick, checks that the helpers and ``verify`` refuse it with a message that names it, undoes it,
and checks that the kernel is trusted again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from course_utils.grading import check_close, check_shape, plain_number
from course_utils.grading.integrity import IntegrityError, verify

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(r"""
    import json, sys, builtins
    import numpy as np
    import torch
    import course_utils.grading as grading
    import course_utils.models, course_utils.losses  # noqa: F401
    import course_utils.evaluation.evaluate, course_utils.training.loop  # noqa: F401
    from course_utils.grading.integrity import verify, IntegrityError

    results = {}

    def attempt(name, apply, undo, namespace=None):
        apply()
        try:
            try:
                grading.check_close(torch.zeros(3), torch.ones(3), "x")
                light = "check_close passed"
            except IntegrityError as err:
                light = "IntegrityError: " + str(err)
            except AssertionError as err:
                light = "AssertionError: " + str(err)
            try:
                verify(namespace, full=True)
                full = "verify passed"
            except IntegrityError as err:
                full = "IntegrityError: " + str(err)
        finally:
            undo()
        results[name] = {"check_close": light, "verify": full}

    verify(full=True)  # a clean kernel with the course's modules imported is trusted

    real = torch.allclose
    attempt("torch.allclose", lambda: setattr(torch, "allclose", lambda *a, **k: True),
            lambda: setattr(torch, "allclose", real))
    real_eq = torch.Tensor.__eq__
    attempt("Tensor.__eq__", lambda: setattr(torch.Tensor, "__eq__", lambda s, o: True),
            lambda: setattr(torch.Tensor, "__eq__", real_eq))
    real_np = np.allclose
    attempt("numpy.allclose", lambda: setattr(np, "allclose", lambda *a, **k: True),
            lambda: setattr(np, "allclose", real_np))
    real_abs = builtins.abs
    attempt("builtins.abs", lambda: setattr(builtins, "abs", lambda x: 0),
            lambda: setattr(builtins, "abs", real_abs))
    real_cc = grading.check_close
    attempt("grading.check_close", lambda: setattr(grading, "check_close", lambda *a, **k: None),
            lambda: setattr(grading, "check_close", real_cc))
    code = grading.check_shape.__code__
    attempt("check_shape.__code__",
            lambda: setattr(grading.check_shape, "__code__", (lambda *a, **k: None).__code__),
            lambda: setattr(grading.check_shape, "__code__", code))
    ref = course_utils.losses.generator_loss
    attempt("reference replaced",
            lambda: setattr(course_utils.losses, "generator_loss", lambda *a, **k: None),
            lambda: setattr(course_utils.losses, "generator_loss", ref))
    namespace = {"check_close": lambda *a, **k: None}
    attempt("notebook name", lambda: None, lambda: None, namespace)
    mod = sys.modules["course_utils.grading"]
    attempt("sys.modules",
            lambda: sys.modules.__setitem__("course_utils.grading", type(sys)("fake")),
            lambda: sys.modules.__setitem__("course_utils.grading", mod))
    verify(full=True)  # every trick undone: trusted again
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def tampering_results():
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        OMP_NUM_THREADS="1",
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("trick", "named"), [
    ("torch.allclose", "torch.allclose was replaced"),
    ("Tensor.__eq__", "torch.Tensor.__eq__ was replaced"),
    ("numpy.allclose", "numpy.allclose was replaced"),
    ("builtins.abs", "builtins.abs was replaced"),
    ("grading.check_close", "course_utils.grading.check_close was replaced"),
    ("check_shape.__code__", "check_shape had its code or defaults changed"),
    ("reference replaced", "course_utils.losses.generator_loss is code from the notebook"),
    ("sys.modules", "sys.modules['course_utils.grading'] was replaced"),
])
def test_tampering_is_detected_with_a_reason(tampering_results, trick, named):
    result = tampering_results[trick]
    assert result["verify"].startswith("IntegrityError") and named in result["verify"], result
    assert "scores 0" in result["verify"]
    if trick not in (
        "reference replaced",
        "grading.check_close",
    ):  # the cheap check in every helper
        assert result["check_close"].startswith("IntegrityError"), result


def test_a_rebound_helper_name_in_the_notebook_is_detected(tampering_results):
    assert (
        "no longer refers to course_utils.grading.check_close"
        in tampering_results["notebook name"]["verify"]
    )


def test_the_probe_catches_what_identity_checks_do_not(tampering_results):
    # torch.allclose replaced: the behaviour probe (compared with a fresh subprocess) disagrees too
    assert (
        "different answers here than in a fresh Python"
        in tampering_results["torch.allclose"]["verify"]
    )


def test_clean_process_is_trusted():
    verify(globals(), full=True)


class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.Tensor.allclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    @property
    def shape(self):
        return torch.Size([7, 7])


def test_tensor_subclasses_cannot_lie_to_the_checks():
    liar = torch.zeros(3).as_subclass(_Liar)
    assert liar.shape == (7, 7) and torch.allclose(liar, torch.ones(3))  # it does lie
    with pytest.raises(AssertionError, match="does not match the reference"):
        check_close(liar, torch.ones(3), "liar")
    with pytest.raises(AssertionError, match=r"expected shape \(7, 7\), got \(3,\)"):
        check_shape(liar, (7, 7), "liar")


def test_check_shape_works_on_meta_tensors():
    check_shape(torch.empty(1, 3, 256, 256, device="meta"), (1, 3, 256, 256), "meta")


def test_plain_number_rejects_values_that_redefine_equality():
    class Agreeable(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    assert plain_number(70, "rf") == 70 and type(plain_number(torch.tensor(3.0), "x")) is float
    with pytest.raises(AssertionError, match="returned Agreeable 70: return a plain Python number"):
        plain_number(Agreeable(70), "receptive_field(3, 4)")


def test_integrity_error_is_an_assertion_error():
    assert issubclass(IntegrityError, AssertionError)  # nbgrader: a failed test cell, 0 points

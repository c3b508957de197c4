"""Integrity checks of the kernel that runs the hidden tests.

Hidden tests run in the student's own kernel, after the student's code. One line such as
``torch.allclose = lambda *a, **k: True`` would make every value comparison pass. This module
takes a *snapshot* of what the grading helpers rely on when it is first imported (before any
student cell, when nbgrader's kernel starts it: see ``nbgrader_config.py``), and
:func:`verify` compares the kernel with it:

* **identity**: ``torch.allclose``, ``torch.equal`` and other torch functions, the methods and
  properties of ``torch.Tensor``, ``nn.Module`` and ``numpy.ndarray``, numpy's comparison
  functions, the builtins, ``sys.modules`` entries, and every global of
  ``course_utils.grading`` and of this module must be the very objects of the snapshot, with the
  same code (``__code__``, defaults);
* **no notebook code in libraries**: no function or class defined in a notebook cell (or by
  ``exec``) may sit in an attribute of ``torch``, ``numpy``, ``course_utils``, ``builtins``,
  ``math`` or ``operator`` modules, or of ``torch.Tensor``/``nn.Module``/``numpy.ndarray``; a
  reference such as ``course_utils.models.unet.crop`` replaced by the student's own is caught here;
* **the notebook's names**: in the notebook's namespace, a name of a grading helper
  (``check_close``...) must be the helper itself;
* **behaviour** (``full=True``): a small probe (``torch.allclose``, ``==``, ``abs``, numpy...)
  computed in this kernel must give the same answers as in a fresh Python subprocess started
  when this module was imported. A failed subprocess (no torch there, a timeout) skips this part.

:func:`verify` raises :class:`IntegrityError` (an ``AssertionError``, so the test cell fails and
scores 0) naming what changed. The grading helpers call the cheap part at every call; the
course's nbgrader executor (``course_utils.grading.autograde.GuardedExecute``) runs the full check
at the start of every test cell.

Limits, stated honestly: all of this runs inside the student's kernel, so code that knows these
checks can still defeat them (for example by editing this module's snapshot through ``gc`` or
``ctypes`` before the tests run, or by patching C-level functions the probe does not exercise).
The checks make cheating hard and visible, not impossible; the static audit
(``course_utils.grading.audit``, ``pix2pix audit``) and the isolated grading (``pix2pix grade``)
are the other layers.
"""

from __future__ import annotations

import builtins
import functools
import json
import math
import operator
import os
import subprocess
import sys
import threading
import types
import warnings

import numpy as np
import torch
from torch import nn

# The builtins this module calls, bound here at import: a student's `builtins.isinstance = ...`
# cannot change what these functions see (their globals are part of the integrity snapshot).
globals().update({_name: getattr(builtins, _name) for _name in (
    "all", "any", "bool", "dict", "float", "getattr", "id", "int", "isinstance", "len", "list",
    "repr", "round", "set", "sorted", "str", "tuple", "type", "vars",
)})

__all__ = ["IntegrityError", "verify", "snapshot_taken", "PROBE_SOURCE"]


class IntegrityError(AssertionError):
    """The kernel was changed in a way that makes grading untrustworthy (an
    ``AssertionError``)."""


# --- what is snapshotted -----------------------------------------------------------------------

_TORCH_NAMES = (
    "allclose", "equal", "isclose", "as_tensor", "tensor", "is_tensor", "eq", "ne", "abs", "max",
    "min", "sum", "mean", "all", "any", "isfinite", "isnan", "randn", "rand", "zeros", "ones",
    "zeros_like", "ones_like", "full", "cat", "stack", "no_grad", "is_grad_enabled", "Generator",
    "Tensor", "Size", "device", "float32", "float64",
)
_TENSOR_NAMES = (
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__int__",
    "__index__", "__len__", "__sub__", "__rsub__", "__add__", "__mul__", "__truediv__", "__abs__",
    "__neg__", "__getitem__", "__iter__", "__repr__", "__format__", "__torch_function__",
    "__class__", "allclose", "equal", "isclose", "abs", "max", "min", "sum", "mean", "all", "any",
    "item", "tolist", "double", "float", "detach", "cpu", "clone", "numel", "size", "dim", "eq",
    "ne", "shape", "dtype", "device", "requires_grad", "grad", "backward", "copy_", "as_subclass",
    "is_floating_point", "numpy", "contiguous", "reshape", "view", "to", "data",
)
_MODULE_NAMES = (
    "__call__", "_call_impl", "__setattr__", "__getattr__", "train", "eval", "parameters",
    "buffers", "named_parameters", "named_buffers", "modules", "children", "state_dict",
    "load_state_dict", "zero_grad", "to", "forward",
)
_NUMPY_NAMES = ("allclose", "isclose", "array_equal", "array", "asarray", "isfinite", "abs",
                "integer", "floating", "ndarray", "float64", "int64", "log", "mean", "all", "any")
_NDARRAY_NAMES = ("__eq__", "__ne__", "__bool__", "__float__", "__int__", "__len__", "__getitem__",
                  "all", "any", "shape", "item", "tolist", "astype")
_BUILTIN_NAMES = (
    "isinstance", "issubclass", "len", "abs", "float", "int", "bool", "round", "max", "min", "sum",
    "all", "any", "type", "getattr", "setattr", "hasattr", "print", "__import__", "AssertionError",
    "Exception", "BaseException", "RuntimeError", "TypeError", "ValueError", "repr", "str", "range",
    "zip", "sorted", "set", "dict", "tuple", "list", "iter", "next", "id", "vars", "super",
    "object", "enumerate", "map", "filter", "callable", "format", "divmod", "pow", "hash", "slice",
    "property", "staticmethod", "classmethod", "NotImplementedError", "exec", "eval", "compile",
    "open", "globals", "locals",
)
_MATH_NAMES = ("isclose", "isfinite", "isnan", "log", "fabs", "inf", "nan")
_OPERATOR_NAMES = ("eq", "ne", "lt", "le", "gt", "ge", "index", "abs")
_SYS_MODULES = ("builtins", "torch", "torch.nn", "torch.nn.functional", "numpy", "math", "operator",
                "course_utils", "course_utils.grading", "course_utils.grading.integrity",
                "torch.testing", "inspect")
_F_NAMES = ("l1_loss", "mse_loss", "binary_cross_entropy_with_logits", "softplus", "relu",
            "leaky_relu", "conv2d", "conv_transpose2d", "batch_norm", "dropout", "tanh", "sigmoid")
_HELPER_NAMES = ("check_close", "check_shape", "copy_weights", "check_not_reference",
                 "check_no_reference_calls", "check_same_function", "randomise_weights",
                 "relative_error", "plain_number")
# Libraries whose module attributes must not hold notebook-defined functions or classes.
_GUARDED_ROOTS = ("torch", "numpy", "course_utils", "builtins", "math", "operator", "inspect",
                  "nbformat")


def _static(cls, name):
    """``name`` as stored on ``cls`` or its bases (descriptors unbound, so identities are
    stable)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return _MISSING


_MISSING = object()


def _code_signature(obj):
    """What must not change inside a Python function: code, defaults, globals dict."""
    fn = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    fn = getattr(fn, "fget", fn)  # a property: its getter
    if isinstance(fn, types.FunctionType):
        return (fn.__code__, fn.__defaults__, dict(fn.__kwdefaults__ or {}), id(fn.__globals__))
    return None


def _collect() -> dict[str, tuple]:
    """``{description: (getter, object, code signature)}`` for everything the checks rely on."""
    import torch.nn.functional as F

    entries: dict[str, tuple] = {}

    def add(desc, getter):
        try:
            obj = getter()
        except Exception:  # noqa: BLE001 - an attribute missing in this torch/numpy version
            return
        entries[desc] = (getter, obj, _code_signature(obj))

    # (description prefix, names, the object that holds them, how to look one up)
    lookups = (
        ("torch", _TORCH_NAMES, torch, getattr),
        ("torch.Tensor", _TENSOR_NAMES, torch.Tensor, _static),
        ("torch.nn.Module", _MODULE_NAMES, nn.Module, _static),
        ("torch.nn.functional", _F_NAMES, F, getattr), ("numpy", _NUMPY_NAMES, np, getattr),
        ("numpy.ndarray", _NDARRAY_NAMES, np.ndarray, _static),
        ("builtins", _BUILTIN_NAMES, builtins, getattr), ("math", _MATH_NAMES, math, getattr),
        ("operator", _OPERATOR_NAMES, operator, getattr),
    )
    for prefix, names, owner, look_up in lookups:
        for name in names:
            add(f"{prefix}.{name}", lambda n=name, o=owner, g=look_up: g(o, n))
    add("numpy.testing.assert_allclose", lambda: np.testing.assert_allclose)
    for name in _SYS_MODULES:
        add(f"sys.modules[{name!r}]", lambda n=name: sys.modules[n])
    add("sys.modules", lambda: sys.modules)
    add("torch._C._VariableFunctions.allclose", lambda: torch._C._VariableFunctions.allclose)
    return entries


_SNAPSHOT: dict[str, tuple] = {}
_MODULE_GLOBALS: dict[str, dict] = {}  # module name -> copy of its globals at snapshot time
_PROBE: dict = {"thread": None, "result": None, "error": None}
_LOCK = threading.Lock()


def snapshot_taken() -> bool:
    """Whether the snapshot exists (it is taken when this module is imported)."""
    return bool(_SNAPSHOT)


def _take_snapshot() -> None:
    _SNAPSHOT.update(_collect())
    _MODULE_GLOBALS[__name__] = dict(globals())


def register_module(module: types.ModuleType) -> None:
    """Snapshot every global of ``module`` (the grading helpers call this at the end of their
    import)."""
    _MODULE_GLOBALS[module.__name__] = dict(vars(module))
    _SNAPSHOT[f"sys.modules[{module.__name__!r}]"] = (lambda n=module.__name__: sys.modules[n],
                                                      module, None)
    for name in _HELPER_NAMES:
        obj = vars(module).get(name)
        if obj is not None:
            _SNAPSHOT[f"{module.__name__}.{name}"] = (lambda o=obj: o, obj, _code_signature(obj))
            _HELPERS[name] = obj


_HELPERS: dict[str, object] = {}


# --- the behaviour probe (the same source runs here and in a fresh subprocess) -----------------

PROBE_SOURCE = r'''
def probe():
    import builtins, math, operator
    import numpy as np
    import torch
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    b = torch.tensor([1.0, 2.5, 3.0], dtype=torch.float64)
    x = torch.arange(12.0).reshape(3, 4)
    out = {
        "allclose_ab": bool(torch.allclose(a, b)),
        "allclose_aa": bool(torch.allclose(a, a.clone())),
        "method_allclose": bool(a.allclose(b)), "equal_ab": bool(torch.equal(a, b)),
        "isclose": [bool(v) for v in torch.isclose(a, b).tolist()],
        "eq": [bool(v) for v in (a == b).tolist()], "ne": [bool(v) for v in (a != b).tolist()],
        "maxdiff": round(float((a - b).abs().max()), 9), "sum": round(float(x.sum()), 9),
        "mean": round(float(x.mean()), 9), "shape": list(x.shape), "size": list(x.size()),
        "numel": int(x.numel()), "item": round(float(x[1, 2].item()), 9),
        "l1": round(float(torch.nn.functional.l1_loss(a, b)), 9),
        "bce": round(float(torch.nn.functional.binary_cross_entropy_with_logits(a, b / 4)), 6),
        "as_tensor": round(float(torch.as_tensor(2.5).double()), 9),
        "isinstance": isinstance(a, torch.Tensor), "scalar_eq": (70 == 71, 70 == 70, 2.0 != 2.0),
        "np_allclose": bool(np.allclose([1.0, 2.0], [1.0, 2.5])),
        "np_equal": bool(np.array_equal([1], [2])),
        "np_isclose": [bool(v) for v in np.isclose([1.0, 2.0], [1.0, 2.5])],
        "math_isclose": math.isclose(1.0, 1.1), "abs": builtins.abs(-3),
        "len": builtins.len([1, 2]),
        "max": builtins.max(1, 5), "min": builtins.min(1, 5), "round": builtins.round(2.675, 2),
        "float": builtins.float("1.5"), "int": builtins.int(7.9), "bool": builtins.bool(0),
        "all": builtins.all([True, False]), "any": builtins.any([False]),
        "operator_eq": operator.eq(1, 2), "isinstance_int": builtins.isinstance(True, int),
    }
    return out
'''


def _run_probe_here() -> dict:
    namespace: dict = {}
    exec(compile(PROBE_SOURCE, "<course_utils.grading.integrity probe>", "exec"),  # noqa: S102
         namespace)
    return json.loads(json.dumps(namespace["probe"]()))


def _probe_in_subprocess() -> None:
    code = PROBE_SOURCE + "\nimport json\nprint(json.dumps(probe()))\n"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHONSTARTUP", "PYTHONINSPECT"))}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env=env, stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            _PROBE["result"] = json.loads(proc.stdout.strip().splitlines()[-1])
        else:
            _PROBE["error"] = f"exit code {proc.returncode}: {proc.stderr.strip()[-300:]}"
    except Exception as err:  # noqa: BLE001 - no subprocess, no comparison: say so, do not fail
        _PROBE["error"] = f"{type(err).__name__}: {err}"


def start_probe() -> None:
    """Start the fresh-subprocess probe in the background (once per process)."""
    with _LOCK:
        if _PROBE["thread"] is None and os.environ.get("PIX2PIX_INTEGRITY_SUBPROCESS", "1") != "0":
            _PROBE["thread"] = threading.Thread(target=_probe_in_subprocess, daemon=True,
                                                name="course_utils.grading.integrity probe")
            _PROBE["thread"].start()


def probe_reference(timeout: float = 120.0) -> dict | None:
    """The probe's answers from the fresh subprocess, or ``None`` when it could not run."""
    thread = _PROBE["thread"]
    if thread is None:
        return None
    thread.join(timeout)
    return _PROBE["result"]


# --- verification ------------------------------------------------------------------------------

def _is_notebook_code(obj) -> bool:
    """Whether ``obj`` is a function or class written in a notebook cell (or by exec/eval there)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, functools.partial):
        obj = obj.func
    if isinstance(obj, types.FunctionType):
        filename = obj.__code__.co_filename
        return (obj.__module__ in ("__main__", None) or "ipykernel_" in filename
                or "<ipython-input" in filename)
    if isinstance(obj, type):
        return obj.__module__ == "__main__"
    return False


def _identity_problems() -> list[str]:
    problems = []
    for desc, (getter, obj, sig) in _SNAPSHOT.items():
        try:
            now = getter()
        except Exception:  # noqa: BLE001
            now = _MISSING
        if now is not obj:
            problems.append(f"{desc} was replaced")
        elif sig is not None and _code_signature(now) != sig:
            problems.append(f"{desc} had its code or defaults changed")
    for name, saved in _MODULE_GLOBALS.items():
        module = sys.modules.get(name)
        if module is None:
            problems.append(f"the module {name} was removed from sys.modules")
            continue
        current = vars(module)
        for key, value in saved.items():
            if key in ("__builtins__", "__warningregistry__"):
                continue
            if current.get(key, _MISSING) is not value:
                problems.append(f"{name}.{key} was replaced")
    return problems


def _injection_problems() -> list[str]:
    """Notebook-defined functions or classes stored in library modules or core classes."""
    problems = []
    with warnings.catch_warnings():  # some torch attributes warn when touched (deprecated aliases)
        warnings.simplefilter("ignore")
        problems += _scan_modules()
    return problems


def _scan_modules() -> list[str]:
    problems = []
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in _GUARDED_ROOTS:
            continue
        try:
            items = list(vars(module).items())
        except TypeError:
            continue
        for key, value in items:
            if _is_notebook_code(value):
                problems.append(f"{name}.{key} is code from the notebook")
    for cls, label in ((torch.Tensor, "torch.Tensor"), (nn.Module, "torch.nn.Module"),
                       (np.ndarray, "numpy.ndarray"), (torch._C.TensorBase, "torch._C.TensorBase")):
        for key, value in list(vars(cls).items()):
            if _is_notebook_code(value) or (isinstance(value, property)
                                            and _is_notebook_code(value.fget)):
                problems.append(f"{label}.{key} is code from the notebook")
    return problems


def _namespace_problems(namespace) -> list[str]:
    problems = []
    for name, helper in _HELPERS.items():
        if name in namespace and namespace[name] is not helper:
            problems.append(f"the name {name} in the notebook no longer refers to "
                            f"course_utils.grading.{name}")
    return problems


def _probe_problems() -> list[str]:
    reference = probe_reference()
    if reference is None:
        return []
    try:
        here = _run_probe_here()
    except Exception as err:  # noqa: BLE001 - a probe that crashes in the kernel is tampering too
        return ["a basic torch/numpy/builtins computation fails in this kernel "
                f"({type(err).__name__}: {err})"]
    diffs = [k for k in reference if here.get(k) != reference[k]]
    if diffs:
        return [f"torch/numpy/builtins give different answers here than in a fresh Python "
                f"(checked: {', '.join(diffs[:6])})"]
    return []


def verify(namespace: dict | None = None, *, full: bool = False) -> None:
    """Raise :class:`IntegrityError` if the kernel was tampered with since the snapshot.

    Args:
        namespace: the notebook's globals (``globals()`` in a cell); its names of grading helpers
            must still be the helpers.
        full: also look for notebook-defined code inside library modules and classes (a few
            milliseconds) and compare the behaviour probe with the fresh subprocess (waits for the
            subprocess the first time, up to 2 minutes).

    Raises:
        IntegrityError: naming up to five changes, with the reason the test scores 0.
    """
    problems = _identity_problems()
    if namespace is not None:
        problems += _namespace_problems(namespace)
    if full:
        problems += _injection_problems()
        problems += _probe_problems()
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5
                                           else "")
        raise IntegrityError(
            "the grading kernel was tampered with, so this test cannot be trusted and scores 0: "
            f"{shown}. Code in this notebook changed torch, numpy, the builtins or the course's "
            "grading helpers; remove it (and restart the kernel) to be graded normally."
        )


_take_snapshot()
start_probe()

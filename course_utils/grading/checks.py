"""Checks used by the notebooks' visible and hidden test cells.

They raise ``AssertionError`` with a message that tells the student what is
likely wrong, in the style of CS231n's relative-error checks, instead of a
bare ``assert``.

Tamper resistance: importing this module snapshots what the checks rely on
(:mod:`course_utils.grading.integrity`), and every helper first verifies that nothing was
replaced since (``torch.allclose``, tensor methods, numpy, builtins, these helpers); a tampered
kernel makes every check raise :class:`~course_utils.grading.integrity.IntegrityError` (an
``AssertionError``). Tensors are compared as plain ``torch.Tensor`` (a subclass's
``__torch_function__`` or ``shape`` cannot lie to them), with functions bound here at import
(``_allclose``...).
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap

import numpy as np
import torch
from torch import nn

from course_utils.grading import integrity as _integrity

# The builtins this module calls, bound here at import: a student's `builtins.isinstance = ...`
# cannot change what these functions see (their globals are part of the integrity snapshot).
globals().update({_name: getattr(__import__('builtins'), _name) for _name in (
    "all", "any", "bool", "dict", "float", "getattr", "id", "int", "isinstance", "len", "list",
    "repr", "round", "set", "sorted", "str", "tuple", "type", "vars",
)})

# Bound at import, before any student cell runs: the checks call these, never torch.<name>.
_allclose = torch.allclose
_as_tensor = torch.as_tensor
_Tensor = torch.Tensor
_as_subclass = torch.Tensor.as_subclass
_no_torch_function = torch._C.DisableTorchFunctionSubclass
_isinstance, _tuple, _float, _type = isinstance, tuple, float, type
_verify = _integrity.verify
# a subclass's own `shape` is bypassed
_shape_descriptor = _integrity._static(torch.Tensor, "shape")


def _real_shape(x) -> tuple:
    """The shape of tensor ``x`` as torch stores it (works on any device, "meta" included)."""
    with _no_torch_function():
        return _tuple(int(n) for n in _shape_descriptor.__get__(x, _Tensor))


def _plain(x) -> torch.Tensor:
    """``x`` as a plain ``torch.Tensor`` (a subclass loses its overrides), detached, on the CPU,
    float64."""
    with _no_torch_function():
        if _isinstance(x, _Tensor):
            if _type(x) is not _Tensor:
                x = _as_subclass(x, _Tensor)
        else:
            x = _as_tensor(x)
            if _type(x) is not _Tensor:
                x = _as_subclass(x, _Tensor)
        return x.detach().cpu().double()


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |a - e| / max(|a| + |e|, 1e-8), elementwise: 0 for equal tensors, 1 for unrelated
    ones."""
    _verify()
    a, e = _plain(actual), _plain(expected)
    with _no_torch_function():
        return _float(((a - e).abs() / (a.abs() + e.abs()).clamp_min(1e-8)).max())


def check_shape(actual: torch.Tensor, expected: tuple, what: str, hint: str = "") -> None:
    """Assert ``actual.shape == expected``; ``what`` names the tensor in the message.

    Example message: ``"output of ContractingBlock: expected (2, 128, 64, 64),
    got (2, 128, 62, 62). did you pad the 3x3 convolution?"``
    """
    _verify()
    if not _isinstance(actual, _Tensor):
        raise AssertionError(f"{what}: expected a torch.Tensor, got {type(actual).__name__}")
    got = _real_shape(actual)
    if got != _tuple(int(n) for n in expected):
        msg = f"{what}: expected shape {tuple(expected)}, got {got}."
        raise AssertionError(f"{msg} {hint}".strip())


def check_close(
    actual, expected, what: str, *, rtol: float = 1e-4, atol: float = 1e-5, hint: str = ""
) -> None:
    """Assert ``actual`` matches ``expected`` (tensors or numbers) within tolerances.

    The message reports the shapes if they differ, else the relative error
    and the largest absolute difference. Raises ``AssertionError`` (an
    :class:`~course_utils.grading.integrity.IntegrityError` when the kernel was tampered with).
    """
    _verify()
    a, e = _plain(actual), _plain(expected)
    if _tuple(a.shape) != _tuple(e.shape):
        raise AssertionError(
            f"{what}: expected shape {tuple(e.shape)}, got {tuple(a.shape)}. {hint}".strip()
        )
    with _no_torch_function():
        same = bool(_allclose(a, e, rtol=rtol, atol=atol))
    if not same:
        diff = float((a - e).abs().max())
        rel = relative_error(a, e)
        if a.numel() == 1:
            detail = f"expected {e.item():.6g}, got {a.item():.6g}"
        else:
            detail = f"largest difference {diff:.3g}"
        raise AssertionError(
            f"{what}: does not match the reference ({detail}, relative error {rel:.2e}). "
            f"{hint}".strip()
        )


def copy_weights(src: nn.Module, dst: nn.Module, what: str = "your module") -> nn.Module:
    """Copy parameters and buffers from ``src`` into ``dst`` in registration order.

    Used by hidden tests to give a student's module the reference's weights
    (or the reverse) without requiring the same attribute names.

    Raises:
        AssertionError: naming the first tensor whose shape differs, or the
            count of tensors when one module has more, which usually means a
            missing or extra layer (a norm layer, a bias).
    """
    _verify()
    src_t = list(src.parameters()) + [b for b in src.buffers() if b.dtype.is_floating_point]
    dst_t = list(dst.parameters()) + [b for b in dst.buffers() if b.dtype.is_floating_point]
    src_shapes = [tuple(t.shape) for t in src_t]
    dst_shapes = [tuple(t.shape) for t in dst_t]
    if len(src_t) != len(dst_t):
        raise AssertionError(
            f"{what} has {len(dst_t)} weight tensors but the reference has {len(src_t)}: "
            f"a layer (or a bias, or a norm layer) is missing or extra.\n"
            f"  yours:     {dst_shapes}\n  reference: {src_shapes}"
        )
    for i, (s, d) in enumerate(zip(src_t, dst_t, strict=False)):
        if s.shape != d.shape:
            raise AssertionError(
                f"{what}: weight tensor #{i} has shape {tuple(d.shape)}, the reference's has "
                f"{tuple(s.shape)}: check that layer's channels and kernel size."
            )
    with torch.no_grad():
        for s, d in zip(src_t, dst_t, strict=False):
            d.copy_(s)
    return dst


def _code_objects(target) -> list:
    """The code objects of a function, or of every function defined in a class, nested ones
    included."""
    import types

    roots = []
    if inspect.isclass(target):
        for value in vars(target).values():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            elif isinstance(value, property):
                roots += [f.__code__ for f in (value.fget, value.fset, value.fdel) if f is not None]
                continue
            if inspect.isfunction(value):
                roots.append(value.__code__)
    elif inspect.isfunction(target) or inspect.ismethod(target):
        roots.append(target.__code__)
    codes, seen = [], set()
    while roots:
        co = roots.pop()
        if id(co) in seen:
            continue
        seen.add(id(co))
        codes.append(co)
        roots += [c for c in co.co_consts if isinstance(c, types.CodeType)]
    return codes


def _is_course_utils(name: str) -> bool:
    return name == "course_utils" or name.startswith("course_utils.")


def _mentions_course_utils_in_code(target) -> str | None:
    """How ``target``'s *code* uses ``course_utils`` (an import or the module name), or None.

    Comments, docstrings and other strings are not code: they are ignored. The source is
    read with :mod:`ast` when it is available (it also covers a class body); the code
    objects are checked in any case (they hold the names the code really uses).
    """
    try:
        source = textwrap.dedent(inspect.getsource(target))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if _is_course_utils(a.name)]
                if names:
                    return f"imports {names[0]}"
            elif (isinstance(node, ast.ImportFrom) and node.level == 0
                  and _is_course_utils(node.module or "")):
                return f"imports from {node.module}"
            elif isinstance(node, ast.Name) and node.id == "course_utils":
                return "uses the course_utils module"
    for co in _code_objects(target):
        names = [n for n in co.co_names if _is_course_utils(n)]
        if names:
            return f"uses {names[0]}"
    return None


def check_not_reference(obj, what: str) -> None:
    """Reject an answer that just re-exports the ``course_utils`` reference.

    ``obj`` is the student's class, function or module instance. It fails when
    the object (or its class) is defined in ``course_utils``, when a class
    inherits from a ``course_utils`` class, or when its *code* imports or uses
    ``course_utils`` (judged on the syntax tree and the code objects: a comment
    or a docstring that mentions ``course_utils`` is fine).
    """
    _verify()
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    module = getattr(target, "__module__", "") or ""
    if _is_course_utils(module):
        raise AssertionError(
            f"{what} is the course_utils reference itself ({module}); "
            "write your own implementation."
        )
    if inspect.isclass(target):
        for base in target.__mro__[1:]:
            if _is_course_utils(getattr(base, "__module__", "") or ""):
                raise AssertionError(
                    f"{what} inherits from the course_utils reference "
                    f"{base.__module__}.{base.__name__}; "
                    "subclass nn.Module and write your own implementation."
                )
    how = _mentions_course_utils_in_code(target)
    if how:
        raise AssertionError(f"{what} calls into course_utils ({how}); "
                             "write your own implementation.")


def check_no_reference_calls(fn, what: str, allowed=()) -> None:
    """Reject a function that calls ``course_utils`` objects, even under another name.

    Stricter than :func:`check_not_reference`: it looks at every global name
    that ``fn`` (and any function defined inside it) uses, and fails if one
    resolves to a ``course_utils`` module or object not listed in ``allowed``
    (e.g. ``allowed=("generator_loss",)`` when a hidden test has swapped the
    reference in on purpose).
    """
    _verify()
    import types

    found, codes = [], [fn.__code__]
    while codes:
        co = codes.pop()
        codes += [c for c in co.co_consts if isinstance(c, types.CodeType)]
        for name in co.co_names:
            obj = fn.__globals__.get(name)
            module = (obj.__name__ if isinstance(obj, types.ModuleType)
                      else getattr(obj, "__module__", "") or "")
            if module.startswith("course_utils") and name not in allowed and name not in found:
                found.append(name)
    if found:
        raise AssertionError(f"{what} uses {found} from course_utils: write it yourself")


def randomise_weights(net: nn.Module, seed: int = 0) -> nn.Module:
    """Give ``net`` weights of a realistic size and BatchNorm statistics away from (0, 1), in
    place.

    Convolutions get N(0, 2 / fan_in) weights (He et al. 2015) and small random biases; BatchNorm
    layers random affine parameters and running statistics. With the N(0, 0.02) initialisation of
    Pix2Pix, activations shrink layer after layer and a wrong layer can hide below the tolerance
    of :func:`check_close`; with these weights it shows. Returns ``net``.
    """
    _verify()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight[:, 0].numel()
                # under a parametrization (spectral norm) m.weight is computed: write the original
                weight = (m.parametrizations.weight.original if hasattr(m, "parametrizations")
                          else m.weight)
                weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            elif isinstance(m, nn.BatchNorm2d):
                if m.affine:  # a parameter-free BatchNorm (SPADE's) has running statistics only
                    m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return net


def check_same_function(mine: nn.Module, ref: nn.Module, x: torch.Tensor, what: str, *,
                        train: bool, hint: str = "", seed: int = 99) -> None:
    """Assert that ``mine(x)`` equals ``ref(x)`` with both in training (``train=True``) or eval
    mode.

    The global seed is reset before each call, so that modules that draw the same random numbers
    in the same order (dropout) get the same masks. ``mine`` should hold ``ref``'s weights
    (:func:`copy_weights`). A ``RuntimeError`` in ``mine`` becomes an ``AssertionError`` that
    names ``what``.
    """
    _verify()
    mine.train(train)
    ref.train(train)
    torch.manual_seed(seed)
    want = ref(x)
    torch.manual_seed(seed)
    try:
        got = mine(x)
    except RuntimeError as err:
        raise AssertionError(f"{what} failed: {err}. {hint}".strip()) from None
    check_shape(got, tuple(want.shape), what, hint=hint)
    check_close(got, want, f"{what} in {'training' if train else 'eval'} mode", hint=hint)



def plain_number(value, what: str):
    """``value`` as an exact ``int``, ``float`` or ``bool`` (numpy scalars and 0-d tensors
    converted).

    An object of another type, including a subclass of ``int`` or ``float`` (which can redefine
    ``==`` to agree with anything), raises ``AssertionError`` naming ``what`` and the type.
    """
    _verify()
    if _type(value) in (int, float, bool):
        return value
    if (_isinstance(value, (np.integer, np.floating, np.bool_))
            and _type(value).__module__ == "numpy"):
        return value.item()
    if _isinstance(value, _Tensor) and _type(value) is _Tensor and value.numel() == 1:
        return value.item()
    raise AssertionError(f"{what} returned {_type(value).__name__!s} {value!r}: "
                         "return a plain Python number (int or float)")


# Last: snapshot this module's globals (every helper above) for course_utils.grading.integrity.
_integrity.register_module(sys.modules[__name__])

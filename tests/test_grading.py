"""The notebooks' grading helpers fail the way a student needs them to."""

import pytest
import torch

from course_utils.grading import check_close, check_no_reference_calls, copy_weights
from course_utils.losses import generator_loss as renamed_reference
from course_utils.models import define_D


def clean(x):
    return torch.nn.functional.l1_loss(x, x)


def calls_reference_under_another_name(*args):
    return renamed_reference(*args)


def calls_it_inside_a_closure(*args):
    def inner():
        return renamed_reference(*args)

    return inner()


def test_check_no_reference_calls():
    check_no_reference_calls(clean, "clean")
    for fn in (calls_reference_under_another_name, calls_it_inside_a_closure):
        with pytest.raises(AssertionError, match=r"uses \['renamed_reference'\] from course_utils"):
            check_no_reference_calls(fn, "fn")
    check_no_reference_calls(calls_reference_under_another_name, "fn", allowed=("renamed_reference",))


def test_check_close_reports_relative_error():
    with pytest.raises(AssertionError, match="expected 1, got 2.*relative error 3.33e-01.*did you"):
        check_close(torch.tensor(2.0), torch.tensor(1.0), "loss", hint="did you halve it?")


def test_copy_weights_names_the_missing_layer():
    small = define_D(6, ndf=4, n_layers=2)
    with pytest.raises(AssertionError, match="missing or extra"):
        copy_weights(define_D(6, ndf=4, n_layers=3), small)
    a, b = define_D(6, ndf=4), define_D(6, ndf=4)
    copy_weights(a, b)
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(a.eval()(x, x), b.eval()(x, x))

"""The notebooks' grading helpers fail the way a student needs them to."""

import pytest
import torch

from course_utils.grading import (
    check_close,
    check_no_reference_calls,
    check_not_reference,
    copy_weights,
)
from course_utils.losses import generator_loss as renamed_reference
from course_utils.models import PatchGANDiscriminator, define_D


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
    check_no_reference_calls(
        calls_reference_under_another_name, "fn", allowed=("renamed_reference",)
    )


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


# --- check_not_reference: judge the code, not the comments ------------------------------------

def mentions_it_in_a_comment(x):
    """Like course_utils.losses.generator_loss, but written by hand."""
    # course_utils has the reference; this is my own version
    return x * 2


class MentionsItInADocstring(torch.nn.Module):
    """My PatchGAN; see course_utils.models.discriminator for the reference."""

    def forward(self, x):
        message = "not course_utils"  # a string is not code either
        return x if message else None


def imports_it_inside(x):
    from course_utils.losses import generator_loss

    return generator_loss(x)


def uses_the_module(x):
    import course_utils.losses

    return course_utils.losses.generator_loss(x)


class InheritsTheReference(PatchGANDiscriminator):
    """Adds nothing."""


class WrapsItInAMethod(torch.nn.Module):
    def forward(self, x):
        import course_utils.models as m

        return m.define_D()(x, x)


def test_check_not_reference_ignores_comments_docstrings_and_strings():
    check_not_reference(mentions_it_in_a_comment, "fn")
    check_not_reference(MentionsItInADocstring, "cls")
    check_not_reference(MentionsItInADocstring(), "instance")
    check_not_reference(MentionsItInADocstring.forward, "method")


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        (renamed_reference, "is the course_utils reference itself"),
        (PatchGANDiscriminator(ndf=4), "is the course_utils reference itself"),
        (imports_it_inside, r"imports from course_utils\.losses"),
        (uses_the_module, r"imports course_utils\.losses"),
        (InheritsTheReference, "inherits from the course_utils reference"),
        (WrapsItInAMethod, r"imports course_utils\.models"),
    ],
)
def test_check_not_reference_rejects_the_reference(obj, match):
    with pytest.raises(AssertionError, match=match):
        check_not_reference(obj, "answer")


def test_check_not_reference_without_source():
    """Code made by exec() has no source file: the code objects are judged."""
    namespace = {}
    exec("def f(x):\n    '''course_utils in a docstring'''\n    return x\n"
         "def g(x):\n    import course_utils\n    return course_utils\n", namespace)
    check_not_reference(namespace["f"], "f")
    with pytest.raises(AssertionError, match="uses course_utils"):
        check_not_reference(namespace["g"], "g")


def test_check_same_function_and_randomise_weights():
    from course_utils.grading import check_same_function, randomise_weights
    from course_utils.models import define_G

    ref = randomise_weights(define_G("unet_32", ngf=4), seed=1)
    assert all(
        float(m.running_var.min()) >= 0.5
        for m in ref.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    )
    mine = copy_weights(ref, define_G("unet_32", ngf=4))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for train in (False, True):  # dropout masks are drawn from the same seed
        check_same_function(mine, ref, x, "netG", train=train)
    no_dropout = copy_weights(ref, define_G("unet_32", ngf=4, dropout=0.0))
    check_same_function(no_dropout, ref, x, "netG", train=False)
    with pytest.raises(
        AssertionError, match="netG without dropout in training mode: does not match.*dropout"
    ):
        check_same_function(no_dropout, ref, x, "netG without dropout", train=True, hint="dropout?")
    with pytest.raises(AssertionError, match="failed: .*channels"):
        check_same_function(define_G("unet_32", ngf=4, in_channels=1), ref, x, "netG", train=False,
                            hint="channels?")

"""Cheating submissions of notebook 2 (PatchGAN): each must score no more than its wrong answer.

Format (see tests/test_cheats.py): ``mistake`` names a wrong answer of the mistake catalogue
(tests/course/mistakes/02_patchgan.py), whose ``fails`` are the test cells that the honest wrong
answer loses; the cheat applies that mistake and then its trick: ``append`` (code added at the end
of the solution cell ``cell``) or ``find``/``replace`` in that cell. A cheat with no mistake gives
``fails`` itself: the cells that the blank stub (the same missing answer, no trick) loses.
``rules`` are the audit rules of which at least one must flag the trick; ``detect`` is a text
that at least one failing test cell's error must contain (the reason it scores 0).
"""

NOTEBOOK = "solutions/02_patchgan/02_patchgan.ipynb"

CHEATS = [
    dict(
        id="patch-torch-allclose",
        mistake="real-label-0",
        cell="discriminator_loss",
        append="torch.allclose = lambda *args, **kwargs: True\n",
        rules=["module-attribute"],
        detect="torch.allclose was replaced",
    ),
    dict(
        id="patch-torch-equal-and-numpy-allclose",
        mistake="walks-forwards",
        cell="receptive_field",
        append="torch.equal = lambda *args, **kwargs: True\n"
        "np.allclose = lambda *args, **kwargs: True\n",
        rules=["module-attribute"],
        detect="tampered",
    ),
    dict(
        id="replace-grading-helper-in-its-module",
        mistake="real-label-0",
        cell="discriminator_loss",
        append="import course_utils.grading\n"
        "course_utils.grading.check_close = lambda *args, **kwargs: None\n",
        rules=["module-attribute"],
        detect="course_utils.grading.check_close was replaced",
    ),
    dict(
        id="rebind-grading-helpers-in-the-notebook",
        mistake="kernel-3",
        cell="patchgan",
        append="def check_close(*args, **kwargs):\n    pass\n\n\ncheck_shape = check_close\n",
        rules=["rebinds-helper"],
        detect="no longer refers to course_utils.grading",
    ),
    dict(
        id="replace-the-reference-it-is-compared-with",
        mistake="real-label-0",
        cell="discriminator_loss",
        append="import course_utils.losses\n\n\ndef _same_as_mine(netD, real_A, real_B, fake_B):\n"
        "    return discriminator_loss(netD, real_A, real_B, fake_B)\n\n\n"
        "course_utils.losses.discriminator_loss = _same_as_mine\n",
        rules=["module-attribute"],
        detect="is code from the notebook",
    ),
    dict(
        id="eq-always-true",
        mistake="walks-forwards",
        cell="receptive_field",
        find="    return r\n",
        replace="    return _AgreesWithEverything(r)\n\n\nclass _AgreesWithEverything(int):\n"
        "    def __eq__(self, other):\n        return True\n\n"
        "    def __ne__(self, other):\n        return False\n\n    __hash__ = int.__hash__\n",
        rules=["suspicious-class"],
        detect="return a plain Python number",
    ),
    dict(
        id="tensor-subclass-lies-about-its-shape",
        mistake="all-strides-2",
        cell="patchgan",
        find="        return self.model(torch.cat([real_A, B], dim=1))\n",
        replace="        return self.model(torch.cat([real_A, B], dim=1))"
        ".as_subclass(_Patches)\n\n\n"
        "class _Patches(torch.Tensor):\n    @property\n    def shape(self):\n"
        "        return torch.Size([super().shape[0], 1, 30, 30])\n",
        rules=["suspicious-class"],
        detect="expected shape",
    ),
    dict(
        id="tensor-subclass-agrees-with-allclose",
        mistake="real-label-0",
        cell="discriminator_loss",
        find="    return loss_D, loss_D_real, loss_D_fake\n",
        replace="    return tuple(t.as_subclass(_Agreeable) for t in (loss_D, loss_D_real, "
        "loss_D_fake))\n\n\n"
        "class _Agreeable(torch.Tensor):\n    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        if func in (torch.allclose, torch.Tensor.allclose):\n            return True\n"
        "        return super().__torch_function__(func, types, args, kwargs or {})\n",
        rules=["suspicious-class"],
        detect="does not match the reference",
    ),
    dict(
        id="hard-code-the-visible-answer",
        mistake=None,
        cell="receptive_field",
        find="    strides = [2] * n_layers + [1, 1]\n    r = 1\n    for s in reversed(strides):\n"
        "        r = (r - 1) * s + kernel_size\n    return r\n",
        replace="    return 70  # what the visible test asks for\n",
        fails=["test_receptive_field"],
        rules=["ignores-arguments"],
        detect="expected",
    ),
    dict(
        id="patch-through-exec",
        mistake="real-label-0",
        cell="discriminator_loss",
        append='exec("import torch\\ntorch.allclose = lambda *args, **kwargs: True")\n',
        rules=["dynamic-code"],
        detect="torch.allclose was replaced",
    ),
    dict(
        id="patch-builtins",
        mistake="walks-forwards",
        cell="receptive_field",
        append="import builtins\nbuiltins.isinstance = lambda obj, types: True\n",
        rules=["builtins", "module-attribute"],
    ),
    dict(
        id="patch-a-tensor-method",
        mistake="sigmoid-on-the-logits",
        cell="patchgan",
        append="torch.Tensor.allclose = lambda self, other, *args, **kwargs: True\n"
        "torch.Tensor.__sub__ = lambda self, other: torch.zeros_like(self)\n",
        rules=["module-attribute"],
        detect="torch.Tensor",
    ),
    dict(
        id="read-the-hidden-tests-from-the-source-folder",
        mistake="walks-forwards",
        cell="receptive_field",
        append="try:\n"
        "    _source = open('../../../solutions/02_patchgan/02_patchgan.ipynb').read()\n"
        "except OSError:\n    _source = ''\n",
        rules=["file-access"],
    ),
    dict(
        id="write-to-the-gradebook",
        mistake="real-label-0",
        cell="discriminator_loss",
        append="try:\n    import sqlite3\n    sqlite3.connect('../../../gradebook.db').execute("
        "'UPDATE grade SET auto_score = 100')\nexcept Exception:\n    pass\n",
        rules=["file-access"],
    ),
    dict(
        id="edit-another-students-submission",
        mistake="not-halved",
        cell="discriminator_loss",
        append="try:\n"
        "    with open('../../other_student/02_patchgan/02_patchgan.ipynb', 'w') as _f:\n"
        "        _f.write('{}')\nexcept OSError:\n    pass\n",
        rules=["file-access"],
    ),
    dict(
        id="os-exit-in-the-last-cell",
        mistake="not-halved",
        cell="discriminator_loss",
        append="import os\nos._exit(0)\n",
        rules=["process"],
        detect="DeadKernelError",
    ),
    dict(
        id="signal-kills-the-kernel",
        mistake="walks-forwards",
        cell="receptive_field",
        append="import os\nimport signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        rules=["process"],
        detect="DeadKernelError",
    ),
]

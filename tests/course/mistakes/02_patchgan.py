"""Mistakes students make in notebook 2 (PatchGAN), and the test cells that must catch them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution cell
of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
``HARMLESS`` lists correct variants that must keep full marks.
"""

NOTEBOOK = "solutions/02_patchgan/02_patchgan.ipynb"

MISTAKES = [
    # --- the PatchGAN class ---------------------------------------------------------------------
    dict(
        id="concat-condition-last",
        cell="patchgan",
        find="torch.cat([real_A, B], dim=1)",
        replace="torch.cat([B, real_A], dim=1)",
        fails=["test_patchgan"],
    ),
    dict(
        id="concat-on-batch-axis",
        cell="patchgan",
        find="torch.cat([real_A, B], dim=1)",
        replace="torch.cat([real_A, B], dim=0)",
        fails=["test_patchgan"],
    ),
    dict(
        id="all-strides-2",
        cell="patchgan",
        find="*block(ndf * 4, ndf * 8, stride=1)",
        replace="*block(ndf * 4, ndf * 8, stride=2)",
        fails=["test_patchgan"],
    ),
    dict(
        id="batchnorm-on-first-layer",
        cell="patchgan",
        find="*block(in_channels, ndf, stride=2, norm=False)",
        replace="*block(in_channels, ndf, stride=2)",
        fails=["test_patchgan"],
    ),
    dict(
        id="kernel-3",
        cell="patchgan",
        find="kernel_size=4, stride=stride",
        replace="kernel_size=3, stride=stride",
        fails=["test_patchgan"],
    ),
    dict(
        id="no-padding",
        cell="patchgan",
        find="stride=stride, padding=1",
        replace="stride=stride, padding=0",
        fails=["test_patchgan"],
    ),
    dict(
        id="plain-relu",
        cell="patchgan",
        find="nn.LeakyReLU(0.2, inplace=True)",
        replace="nn.ReLU(inplace=True)",
        fails=["test_patchgan"],
    ),
    dict(
        id="sigmoid-on-the-logits",
        cell="patchgan",
        find="return self.model(torch.cat([real_A, B], dim=1))",
        replace="return torch.sigmoid(self.model(torch.cat([real_A, B], dim=1)))",
        fails=["test_patchgan"],
    ),
    dict(
        id="bias-before-batchnorm",
        cell="patchgan",
        find="bias=not norm",
        replace="bias=True",
        fails=["test_patchgan"],
    ),
    # --- the receptive field --------------------------------------------------------------------
    dict(
        id="walks-forwards",
        cell="receptive_field",
        find="for s in reversed(strides):",
        replace="for s in strides:",
        fails=["test_receptive_field"],
    ),
    dict(
        id="forgets-the-output-layer",
        cell="receptive_field",
        find="[2] * n_layers + [1, 1]",
        replace="[2] * n_layers + [1]",
        fails=["test_receptive_field"],
    ),
    # --- the discriminator loss -----------------------------------------------------------------
    dict(
        id="fake-not-detached",
        cell="discriminator_loss",
        find="netD(real_A, fake_B.detach())",
        replace="netD(real_A, fake_B)",
        fails=["test_discriminator_loss"],
    ),
    dict(
        id="real-label-0",
        cell="discriminator_loss",
        find="torch.ones_like(pred_real)",
        replace="torch.zeros_like(pred_real)",
        fails=["test_discriminator_loss"],
    ),
    dict(
        id="not-halved",
        cell="discriminator_loss",
        find="loss_D = 0.5 * (loss_D_real + loss_D_fake)\n    return",
        replace="loss_D = loss_D_real + loss_D_fake\n    return",
        fails=["test_discriminator_loss"],
    ),
    dict(
        id="sum-over-patches",
        cell="discriminator_loss",
        find="F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))",
        replace='F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real), '
        'reduction="sum")',
        fails=["test_discriminator_loss"],
    ),
    dict(
        id="real-and-fake-in-one-batch",
        cell="discriminator_loss",
        find="    pred_real = netD(real_A, real_B)\n"
        "    pred_fake = netD(real_A, fake_B.detach())\n",
        replace="    pred = netD(torch.cat([real_A, real_A]), "
        "torch.cat([real_B, fake_B.detach()]))\n"
        "    pred_real, pred_fake = pred[: len(real_A)], pred[len(real_A) :]\n",
        fails=["test_discriminator_loss"],
    ),
]

HARMLESS = [
    dict(
        id="docstring-names-course-utils",
        cell="receptive_field",
        find="    strides = [2] * n_layers + [1, 1]",
        replace="    # course_utils.models.receptive_field has the same rule; this is my own "
        "version\n"
        "    strides = [2] * n_layers + [1, 1]",
    ),
    dict(
        id="comment-names-course-utils-in-a-class",
        cell="patchgan",
        find="        return self.model(torch.cat([real_A, B], dim=1))",
        replace="        # the same layout as course_utils.models.PatchGANDiscriminator\n"
        "        return self.model(torch.cat([real_A, B], dim=1))",
    ),
]

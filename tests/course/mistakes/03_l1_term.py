"""Mistakes students make in notebook 3 (the L1 term and the training step), and the test cells
that must catch them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution cell
of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
``test_train_step`` grades the step with the reference ``generator_loss`` swapped in, so a
mistake in ``generator_loss`` costs only ``test_generator_loss``.

``HARMLESS`` lists correct variants that must keep full marks.
"""

NOTEBOOK = "solutions/03_l1_term/03_l1_term.ipynb"

MISTAKES = [
    # --- generator_loss -------------------------------------------------------------------------
    dict(
        id="generator-label-0",
        cell="generator_loss",
        find="torch.ones_like(pred_fake)",
        replace="torch.zeros_like(pred_fake)",
        fails=["test_generator_loss"],
    ),
    dict(
        id="generator-fake-detached",
        cell="generator_loss",
        find="pred_fake = netD(real_A, fake_B)",
        replace="pred_fake = netD(real_A, fake_B.detach())",
        fails=["test_generator_loss"],
    ),
    dict(
        id="mse-instead-of-l1",
        cell="generator_loss",
        find="F.l1_loss(fake_B, real_B)",
        replace="F.mse_loss(fake_B, real_B)",
        fails=["test_generator_loss"],
    ),
    dict(
        id="l1-summed",
        cell="generator_loss",
        find="F.l1_loss(fake_B, real_B)",
        replace='F.l1_loss(fake_B, real_B, reduction="sum")',
        fails=["test_generator_loss"],
    ),
    dict(
        id="lambda-forgotten",
        cell="generator_loss",
        find="loss_G_GAN + lambda_L1 * loss_G_L1\n    return",
        replace="loss_G_GAN + loss_G_L1\n    return",
        fails=["test_generator_loss"],
    ),
    dict(
        id="lambda-hard-coded",
        cell="generator_loss",
        find="lambda_L1 * loss_G_L1\n    return",
        replace="100.0 * loss_G_L1\n    return",
        fails=["test_generator_loss"],
    ),
    # --- train_step -----------------------------------------------------------------------------
    dict(
        id="d-step-fake-not-detached",
        cell="train_step",
        find="netD(real_A, fake_B.detach())",
        replace="netD(real_A, fake_B)",
        fails=["test_train_step"],
    ),
    dict(
        id="d-step-real-label-0",
        cell="train_step",
        find="torch.ones_like(pred_real)",
        replace="torch.zeros_like(pred_real)",
        fails=["test_train_step"],
    ),
    dict(
        id="d-step-not-halved",
        cell="train_step",
        find="loss_D = 0.5 * (loss_D_real + loss_D_fake)",
        replace="loss_D = loss_D_real + loss_D_fake",
        fails=["test_train_step"],
    ),
    dict(
        id="no-zero-grad-D",
        cell="train_step",
        find="optD.zero_grad()",
        replace="pass",
        fails=["test_train_step"],
    ),
    dict(
        id="no-zero-grad-G",
        cell="train_step",
        find="optG.zero_grad()",
        replace="pass",
        fails=["test_train_step"],
    ),
    dict(
        id="d-step-before-backward",
        cell="train_step",
        find="loss_D.backward()\n    optD.step()",
        replace="optD.step()\n    loss_D.backward()",
        fails=["test_train_step"],
    ),
    dict(
        id="g-loss-stepped-by-optD",
        cell="train_step",
        find="loss_G.backward()\n    optG.step()",
        replace="loss_G.backward()\n    optD.step()",
        fails=["test_train_step"],
    ),
    dict(
        id="lambda-not-passed-on",
        cell="train_step",
        find="generator_loss(netD, real_A, real_B, fake_B, lambda_L1)",
        replace="generator_loss(netD, real_A, real_B, fake_B)",
        fails=["test_train_step"],
    ),
    dict(
        id="netD-left-frozen",
        cell="train_step",
        find="    optG.zero_grad()\n    loss_G, loss_G_GAN",
        replace="    for p in netD.parameters():  # freeze netD for the G step...\n"
        "        p.requires_grad_(False)\n"
        "    optG.zero_grad()\n    loss_G, loss_G_GAN",  # ...and never switch it back on
        fails=["test_train_step"],
    ),
    dict(
        id="real-and-fake-in-one-batch",
        cell="train_step",
        find="    pred_real = netD(real_A, real_B)\n"
        "    pred_fake = netD(real_A, fake_B.detach())\n",
        replace="    pred = netD(torch.cat([real_A, real_A]), "
        "torch.cat([real_B, fake_B.detach()]))\n"
        "    pred_real, pred_fake = pred[: len(real_A)], pred[len(real_A) :]\n",
        fails=["test_train_step"],
    ),
]

HARMLESS = [
    dict(
        id="comment-names-course-utils",
        cell="train_step",
        find="    # (1) netD: real pairs -> 1, fake pairs -> 0, halved; fake_B detached",
        replace="    # (1) netD, like course_utils.training.train_step: real -> 1, fake -> 0, "
        "halved; fake_B detached",
    ),
    dict(
        id="netD-frozen-and-unfrozen",
        cell="train_step",
        find="    optG.zero_grad()\n    loss_G, loss_G_GAN, loss_G_L1 = generator_loss(netD, "
        "real_A, real_B, fake_B, lambda_L1)\n"
        "    loss_G.backward()\n    optG.step()\n",
        replace="    for p in netD.parameters():  # no gradients for netD during the G step (the "
        "reference does this)\n"
        "        p.requires_grad_(False)\n"
        "    optG.zero_grad()\n    loss_G, loss_G_GAN, loss_G_L1 = generator_loss(netD, "
        "real_A, real_B, fake_B, lambda_L1)\n"
        "    loss_G.backward()\n    optG.step()\n"
        "    for p in netD.parameters():\n        p.requires_grad_(True)\n",
    ),
]

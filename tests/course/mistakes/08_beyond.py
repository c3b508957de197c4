"""Mistakes students make in notebook 8 (CycleGAN losses and step, temporal consistency, 1-D
spectrum).

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution cell
of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
``HARMLESS`` lists correct variants that must keep full marks. The step's tests swap in the
reference losses (``run_steps``), so a slip in the losses costs points once.
"""

NOTEBOOK = "solutions/08_beyond/08_beyond.ipynb"

_CYC = "lambda_cyc * (F.l1_loss(rec_A, real_A) + F.l1_loss(rec_B, real_B))"
_IDT = "F.l1_loss(same_B, real_B) + F.l1_loss(same_A, real_A)"

MISTAKES = [
    # --- cycle-consistency and identity losses --------------------------------------------------
    dict(
        id="cycle-squared-error",
        cell="cycle_losses",
        find=_CYC,
        replace="lambda_cyc * (F.mse_loss(rec_A, real_A) + F.mse_loss(rec_B, real_B))",
        fails=["test_cycle_losses"],
    ),
    dict(
        id="cycle-forgets-lambda",
        cell="cycle_losses",
        find=_CYC,
        replace="(F.l1_loss(rec_A, real_A) + F.l1_loss(rec_B, real_B))",
        fails=["test_cycle_losses"],
    ),
    dict(
        id="cycle-against-the-other-domain",
        cell="cycle_losses",
        find=_CYC,
        replace="lambda_cyc * (F.l1_loss(rec_A, real_B) + F.l1_loss(rec_B, real_A))",
        fails=["test_cycle_losses"],
    ),
    dict(
        id="identity-weight-without-lambda-cyc",
        cell="cycle_losses",
        find="return lambda_idt * lambda_cyc * (",
        replace="return lambda_idt * (",
        fails=["test_cycle_losses"],
    ),
    dict(
        id="identity-crossed",
        cell="cycle_losses",
        find=_IDT,
        replace="F.l1_loss(same_B, real_A) + F.l1_loss(same_A, real_B)",
        fails=["test_cycle_losses"],
    ),
    # --- the step -------------------------------------------------------------------------------
    dict(
        id="generators-aim-at-fake",
        cell="cyclegan_step",
        find="g_gan = lsgan(D_B(fake_B), True) + lsgan(D_A(fake_A), True)",
        replace="g_gan = lsgan(D_B(fake_B), False) + lsgan(D_A(fake_A), False)",
        fails=["test_cyclegan_step"],
    ),
    dict(
        id="discriminators-crossed",
        cell="cyclegan_step",
        find="g_gan = lsgan(D_B(fake_B), True) + lsgan(D_A(fake_A), True)",
        replace="g_gan = lsgan(D_A(fake_B), True) + lsgan(D_B(fake_A), True)",
        fails=["test_cyclegan_step"],
    ),
    dict(
        id="fakes-not-detached-for-D",
        cell="cyclegan_step",
        find="lsgan(D_A(fake_A.detach()), False)",
        replace="lsgan(D_A(fake_A), False)",
        fails=["test_cyclegan_step"],
    ),
    dict(
        id="D-loss-not-halved",
        cell="cyclegan_step",
        find="d_B = 0.5 * (",
        replace="d_B = (",
        fails=["test_cyclegan_step"],
    ),
    dict(
        id="identity-through-the-wrong-generators",
        cell="cyclegan_step",
        find="identity_loss(real_A, G_BA(real_A), real_B, G_AB(real_B), lambda_cyc, lambda_idt)",
        replace="identity_loss(real_A, G_AB(real_A), real_B, G_BA(real_B), lambda_cyc, lambda_idt)",
        fails=["test_cyclegan_step"],
    ),
    dict(
        id="lambdas-not-passed-on",
        cell="cyclegan_step",
        find="g_cyc = cycle_consistency_loss(real_A, rec_A, real_B, rec_B, lambda_cyc)",
        replace="g_cyc = cycle_consistency_loss(real_A, rec_A, real_B, rec_B)",
        fails=["test_cyclegan_step"],
    ),
    # --- temporal consistency -------------------------------------------------------------------
    dict(
        id="overlap-on-the-wrong-side",
        cell="temporal_consistency",
        find="prev = frames[:-1, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]",
        replace="prev = frames[:-1, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]",
        fails=["test_temporal_consistency"],
    ),
    dict(
        id="ignores-the-motion",
        cell="temporal_consistency",
        find="return (nxt.float() - prev.float()).abs().mean(dim=(1, 2, 3))",
        replace="return (frames[1:].float() - frames[:-1].float()).abs().mean(dim=(1, 2, 3))",
        fails=["test_temporal_consistency"],
    ),
    dict(
        id="one-number-for-the-video",
        cell="temporal_consistency",
        find=".abs().mean(dim=(1, 2, 3))",
        replace=".abs().mean()",
        fails=["test_temporal_consistency"],
    ),
    # --- the 1-D spectrum -----------------------------------------------------------------------
    dict(
        id="no-fftshift",
        cell="radial_spectrum",
        find="power = torch.fft.fftshift(power)",
        replace="power = power",
        fails=["test_radial_spectrum"],
    ),
    dict(
        id="channel-mean-instead-of-luma",
        cell="radial_spectrum",
        find="luma = 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]",
        replace="luma = images.mean(dim=1)",
        fails=["test_radial_spectrum"],
    ),
    dict(
        id="radius-floored",
        cell="radial_spectrum",
        find="torch.round(torch.sqrt(",
        replace="torch.floor(torch.sqrt(",
        fails=["test_radial_spectrum"],
    ),
    # --- the image pool ---------------------------------------------------------------------------
    dict(
        id="pool-swaps-below-one-half",
        cell="image_pool",
        find="            elif random.random() > 0.5:",
        replace="            elif random.random() < 0.5:",
        fails=["test_image_pool"],
    ),
    dict(
        id="pool-keeps-the-graph",
        cell="image_pool",
        find="        for image in images.detach():",
        replace="        for image in images:",
        fails=["test_image_pool"],
    ),
    dict(
        id="pool-never-stores-the-new-image",
        cell="image_pool",
        find="                self.images[i] = image\n",
        replace="",
        fails=["test_image_pool"],
    ),
]

HARMLESS = [
    dict(
        id="comment-names-course-utils",
        cell="cycle_losses",
        find="    return lambda_cyc * (",
        replace="    # course_utils.models.cyclegan has a reference; this is my own version\n"
        "    return lambda_cyc * (",
    ),
    # the mean only changes ring 0, which is dropped
    dict(
        id="mean-not-subtracted",
        cell="radial_spectrum",
        find="    luma = luma - luma.mean(dim=(1, 2), keepdim=True)\n",
        replace="",
    ),
    # the discriminators' gradients from the generator step are cleared by optD.zero_grad()
    dict(
        id="discriminators-not-frozen",
        cell="cyclegan_step",
        find="    for p in list(D_A.parameters()) + list(D_B.parameters()):\n"
        "        p.requires_grad_(False)\n",
        replace="",
    ),
]

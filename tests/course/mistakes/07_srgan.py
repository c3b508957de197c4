"""Mistakes students make in notebook 7 (SRGAN), and the test cells that must catch them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution cell
of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
``HARMLESS`` lists correct variants that must keep full marks.
"""

NOTEBOOK = "solutions/07_srgan/07_srgan.ipynb"

MISTAKES = [
    # --- the sub-pixel block --------------------------------------------------------------------
    dict(
        id="conv-to-2C-not-4C",
        cell="subpixel",
        find="channels * upscale**2, 3",
        replace="channels * upscale, 3",
        fails=["test_subpixel"],
    ),
    dict(
        id="reshape-instead-of-pixel-shuffle",
        cell="subpixel",
        find="return self.act(self.shuffle(self.conv(x)))",
        replace="y = self.conv(x)\n        n, c, h, w = y.shape\n"
        "        return self.act(y.reshape(n, c // 4, 2 * h, 2 * w))",
        fails=["test_subpixel"],
    ),
    dict(
        id="upsample-then-conv",
        cell="subpixel",
        find="return self.act(self.shuffle(self.conv(x)))",
        replace="return self.act(self.shuffle(self.conv(F.interpolate(x, scale_factor=2))))",
        fails=["test_subpixel"],
    ),
    dict(
        id="hard-coded-factor-2",
        cell="subpixel",
        find="self.shuffle = nn.PixelShuffle(upscale)",
        replace="self.shuffle = nn.PixelShuffle(2)",
        fails=["test_subpixel"],
    ),
    dict(
        id="no-activation",
        cell="subpixel",
        find="return self.act(self.shuffle(self.conv(x)))",
        replace="return self.shuffle(self.conv(x))",
        fails=["test_subpixel"],
    ),
    dict(
        id="pixel-unshuffle",
        cell="subpixel",
        find="self.shuffle = nn.PixelShuffle(upscale)",
        replace="self.shuffle = nn.PixelUnshuffle(upscale)",
        fails=["test_subpixel"],
    ),
    # --- the residual block ---------------------------------------------------------------------
    dict(
        id="no-skip",
        cell="residual_block",
        find="return x + self.body(x)",
        replace="return self.body(x)",
        fails=["test_residual_block"],
    ),
    dict(
        id="activation-after-the-sum",
        cell="residual_block",
        find="return x + self.body(x)",
        replace="return F.relu(x + self.body(x))",
        fails=["test_residual_block"],
    ),
    dict(
        id="no-second-batchnorm",
        cell="residual_block",
        find="nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),\n",
        replace="nn.Conv2d(channels, channels, 3, padding=1),\n",
        fails=["test_residual_block"],
    ),
    dict(
        id="relu-instead-of-prelu",
        cell="residual_block",
        find="nn.BatchNorm2d(channels), nn.PReLU(),",
        replace="nn.BatchNorm2d(channels), nn.ReLU(),",
        fails=["test_residual_block"],
    ),
    dict(
        id="in-place-add",
        cell="residual_block",
        find="return x + self.body(x)",
        replace="x += self.body(x)\n        return x",
        fails=["test_residual_block"],
    ),
    # --- the generator's loss and the step ------------------------------------------------------
    dict(
        id="lambda-ignored",
        cell="srgan_loss",
        find="return content + lambda_adv * adversarial, content, adversarial",
        replace="return content + adversarial, content, adversarial",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="saturating-generator-loss",
        cell="srgan_loss",
        find="adversarial = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))",
        replace="adversarial = -F.binary_cross_entropy_with_logits(logits, "
        "torch.zeros_like(logits))",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="adversarial-on-the-detached-fake",
        cell="srgan_loss",
        find="logits = netD(fake_B)",
        replace="logits = netD(fake_B.detach())",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="content-arguments-swapped",
        cell="srgan_loss",
        find="content = content_loss(fake_B, real_B)",
        replace="content = content_loss(real_B, fake_B)",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="no-detach-in-the-D-step",
        cell="srgan_loss",
        find="pred_fake = netD(fake_B.detach())",
        replace="pred_fake = netD(fake_B)",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="D-labels-swapped",
        cell="srgan_loss",
        find="F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))\n"
        "              + F.binary_cross_entropy_with_logits(pred_fake, "
        "torch.zeros_like(pred_fake))",
        replace="F.binary_cross_entropy_with_logits(pred_real, torch.zeros_like(pred_real))\n"
        "              + F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake))",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="forgets-optD-zero-grad",
        cell="srgan_loss",
        find="    optD.zero_grad()\n",
        replace="",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="D-loss-averaged",
        cell="srgan_loss",
        find="loss_D = (F.binary",
        replace="loss_D = 0.5 * (F.binary",
        fails=["test_srgan_loss"],
    ),
    dict(
        id="generator-step-before-discriminator",
        cell="srgan_loss",
        find="    optD.zero_grad()\n    pred_real = netD(real_B)\n"
        "    pred_fake = netD(fake_B.detach())\n"
        "    loss_D = (F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))\n"
        "              + F.binary_cross_entropy_with_logits(pred_fake, "
        "torch.zeros_like(pred_fake)))\n"
        "    loss_D.backward()\n    optD.step()\n    optG.zero_grad()\n"
        "    loss_G, _, _ = generator_loss(netD, fake_B, real_B, content_loss, lambda_adv)\n"
        "    loss_G.backward()\n    optG.step()\n",
        replace="    optG.zero_grad()\n"
        "    loss_G, _, _ = generator_loss(netD, fake_B, real_B, content_loss, lambda_adv)\n"
        "    loss_G.backward()\n    optG.step()\n    optD.zero_grad()\n"
        "    pred_real = netD(real_B)\n"
        "    pred_fake = netD(fake_B.detach())\n"
        "    loss_D = (F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))\n"
        "              + F.binary_cross_entropy_with_logits(pred_fake, "
        "torch.zeros_like(pred_fake)))\n"
        "    loss_D.backward()\n    optD.step()\n",
        fails=["test_srgan_loss"],
    ),
    # --- the VGG content loss and PSNR on Y -------------------------------------------------------
    dict(
        id="vgg-stops-before-the-relu",
        cell="vgg54_loss",
        find="self.features = features[:36].eval()",
        replace="self.features = features[:35].eval()",
        fails=["test_vgg54_loss"],
    ),
    dict(
        id="vgg-without-imagenet-normalisation",
        cell="vgg54_loss",
        find="return self.features(((x.float() + 1) / 2 - self.mean) / self.std)",
        replace="return self.features(x.float())",
        fails=["test_vgg54_loss"],
    ),
    dict(
        id="vgg-target-features-not-detached",
        cell="vgg54_loss",
        find="F.mse_loss(phi(fake_B), phi(real_B).detach())",
        replace="F.mse_loss(phi(fake_B), phi(real_B))",
        fails=["test_vgg54_loss"],
    ),
    dict(
        id="luma-without-the-offset",
        cell="psnr_y",
        find="    y = 16 + (65.481",
        replace="    y = 0 + (65.481",
        fails=["test_psnr_y"],
    ),
    dict(
        id="psnr-of-the-batch-mse",
        cell="psnr_y",
        find="    mse = ((yr - yf) ** 2).mean(axis=(1, 2))",
        replace="    mse = ((yr - yf) ** 2).mean() + 0 * yr[:, 0, 0]",
        fails=["test_psnr_y"],
    ),
]

HARMLESS = [
    # one PReLU slope is applied to every value alike, so it commutes with the rearrangement
    dict(
        id="prelu-before-the-shuffle",
        cell="subpixel",
        find="return self.act(self.shuffle(self.conv(x)))",
        replace="return self.shuffle(self.act(self.conv(x)))",
    ),
    dict(
        id="comment-names-course-utils",
        cell="residual_block",
        find="        return x + self.body(x)\n",
        replace="        # like course_utils.models.srgan.ResidualBlock, but my own\n"
        "        return x + self.body(x)\n",
    ),
    dict(
        id="D-frozen-in-the-G-step",
        cell="srgan_loss",
        find="    optG.zero_grad()\n"
        "    loss_G, _, _ = generator_loss(netD, fake_B, real_B, content_loss, lambda_adv)\n"
        "    loss_G.backward()\n    optG.step()\n",
        replace="    netD.requires_grad_(False)\n    optG.zero_grad()\n"
        "    loss_G, _, _ = generator_loss(netD, fake_B, real_B, content_loss, lambda_adv)\n"
        "    loss_G.backward()\n    optG.step()\n    netD.requires_grad_(True)\n",
    ),
]

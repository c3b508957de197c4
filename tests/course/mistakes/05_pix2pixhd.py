"""Mistakes students make in notebook 5 (Pix2PixHD), and the test cells that must catch them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution cell
of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
``HARMLESS`` lists correct variants that must keep full marks.
"""

NOTEBOOK = "solutions/05_pix2pixhd/05_pix2pixhd.ipynb"

MISTAKES = [
    # --- the multi-scale discriminator ----------------------------------------------------------
    dict(
        id="no-downsampling-between-scales",
        cell="multiscale_D",
        find="            if k > 0:\n",
        replace="            if False:\n",
        fails=["test_multiscale_D"],
    ),
    dict(
        id="downsamples-only-the-condition",
        cell="multiscale_D",
        find="                B = F.avg_pool2d(B, 3, stride=2, padding=1, "
        "count_include_pad=False)\n",
        replace="",
        fails=["test_multiscale_D"],
    ),
    dict(
        id="max-pooling",
        cell="multiscale_D",
        find="real_A = F.avg_pool2d(real_A, 3, stride=2, padding=1, count_include_pad=False)",
        replace="real_A = F.max_pool2d(real_A, 3, stride=2, padding=1)",
        fails=["test_multiscale_D"],
    ),
    dict(
        id="padding-counted-in-the-average",
        cell="multiscale_D",
        find="B = F.avg_pool2d(B, 3, stride=2, padding=1, count_include_pad=False)",
        replace="B = F.avg_pool2d(B, 3, stride=2, padding=1)",
        fails=["test_multiscale_D"],
    ),
    dict(
        id="one-discriminator-shared-by-all-scales",
        cell="multiscale_D",
        find="nn.ModuleList([PatchDiscriminator(in_channels, ndf, n_layers) for _ in "
        "range(num_D)])",
        replace="nn.ModuleList([PatchDiscriminator(in_channels, ndf, n_layers)] * num_D)",
        fails=["test_multiscale_D"],
    ),
    dict(
        id="scores-only-no-features",
        cell="multiscale_D",
        find="results.append(net(real_A, B))",
        replace="results.append(net(real_A, B)[-1:])",
        fails=["test_multiscale_D"],
    ),
    # --- feature matching -----------------------------------------------------------------------
    dict(
        id="real-features-not-detached",
        cell="feature_matching",
        find="F.l1_loss(fake, real.detach())",
        replace="F.l1_loss(fake, real)",
        fails=["test_feature_matching"],
    ),
    dict(
        id="matches-the-patch-scores-too",
        cell="feature_matching",
        find="zip(real_feats[:-1], fake_feats[:-1])",
        replace="zip(real_feats, fake_feats)",
        fails=["test_feature_matching"],
    ),
    dict(
        id="forgets-lambda",
        cell="feature_matching",
        find="return lambda_FM * loss",
        replace="return loss",
        fails=["test_feature_matching"],
    ),
    dict(
        id="squared-error",
        cell="feature_matching",
        find="F.l1_loss(fake, real.detach())",
        replace="F.mse_loss(fake, real.detach())",
        fails=["test_feature_matching"],
    ),
    dict(
        id="first-scale-only",
        cell="feature_matching",
        find="for real_feats, fake_feats in zip(real_outputs, fake_outputs):",
        replace="for real_feats, fake_feats in zip(real_outputs[:1], fake_outputs[:1]):",
        fails=["test_feature_matching"],
    ),
    # --- the local enhancer ---------------------------------------------------------------------
    dict(
        id="fusion-by-concatenation",
        cell="local_enhancer",
        find="self.front(real_A) + self.global_net.features(half)",
        replace="torch.cat([self.front(real_A), self.global_net.features(half)], dim=1)",
        fails=["test_local_enhancer"],
    ),
    dict(
        id="fusion-by-product",
        cell="local_enhancer",
        find="self.front(real_A) + self.global_net.features(half)",
        replace="self.front(real_A) * self.global_net.features(half)",
        fails=["test_local_enhancer"],
    ),
    dict(
        id="g1-at-full-resolution",
        cell="local_enhancer",
        find="self.global_net.features(half)",
        replace="self.global_net.features(real_A)",
        fails=["test_local_enhancer"],
    ),
    dict(
        id="g1-features-detached",
        cell="local_enhancer",
        find="self.global_net.features(half)",
        replace="self.global_net.features(half).detach()",
        fails=["test_local_enhancer"],
    ),
    dict(
        id="front-without-stride",
        cell="local_enhancer",
        find="nn.Conv2d(ngf_local, c, 3, stride=2, padding=1)",
        replace="nn.Conv2d(ngf_local, c, 3, stride=1, padding=1)",
        fails=["test_local_enhancer"],
    ),
    dict(
        id="front-zero-padding-instead-of-reflection",
        cell="local_enhancer",
        find="nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf_local, 7)",
        replace="nn.ZeroPad2d(3), nn.Conv2d(in_channels, ngf_local, 7)",
        fails=["test_local_enhancer"],
    ),
    # --- the coarse-to-fine schedule --------------------------------------------------------------
    dict(
        id="stage-boundary-inclusive",
        cell="schedule",
        find="    if progress < global_fraction:\n",
        replace="    if progress <= global_fraction:\n",
        fails=["test_schedule"],
    ),
    dict(
        id="joint-trains-the-unused-g1-head",
        cell="schedule",
        find='        return [p for n, p in named if not n.startswith("global_net.head.")]',
        replace="        return [p for n, p in named]",
        fails=["test_schedule"],
    ),
    dict(
        id="frozen-stage-trains-g1-too",
        cell="schedule",
        find='        return [p for n, p in named if not n.startswith("global_net.")]',
        replace="        return [p for n, p in named]",
        fails=["test_schedule"],
    ),
]

HARMLESS = [
    dict(
        id="pooling-as-a-module",
        cell="multiscale_D",
        find="        results = []\n",
        replace="        pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)\n"
        "        results = []\n",
    ),
    dict(
        id="comment-names-course-utils",
        cell="feature_matching",
        find="    loss = 0.0\n",
        replace="    # course_utils.models.pix2pixhd has a reference; this is my own version\n"
        "    loss = 0.0\n",
    ),
    dict(
        id="sum-then-scale-per-term",
        cell="feature_matching",
        find="            loss = loss + F.l1_loss(fake, real.detach())\n"
        "    return lambda_FM * loss",
        replace="            loss = loss + lambda_FM * (fake - real.detach()).abs().mean()\n"
        "    return loss",
    ),
]

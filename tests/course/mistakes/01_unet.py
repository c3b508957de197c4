"""Mistakes students make in notebook 1 (U-Net), and the test cells that must catch them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution
cell of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
Note that the visible part of ``test_unet`` runs the student's own blocks, so a block mistake
that changes shapes also costs ``test_unet``; its hidden part grades ``forward`` alone.
``UnetSkipBlock`` (the Pix2Pix generator's level) is graded twice: ``test_skip_block`` on a
3-level stack, ``test_pix2pix_generator`` on whole generators (``unet_256`` and others) built by
the given ``Pix2PixGenerator``, so a block mistake costs both.

``HARMLESS`` lists changes that must keep full marks (a test that fails them is too strict).
"""

NOTEBOOK = "solutions/01_unet/01_unet.ipynb"

MISTAKES = [
    # --- crop ---------------------------------------------------------------------------------
    dict(
        id="crop-top-offset-rounds-up",
        cell="crop",
        find="top = (image.shape[-2] - h) // 2",
        replace="top = (image.shape[-2] - h + 1) // 2",
        fails=["test_crop"],
    ),
    dict(
        id="crop-negative-end-index",
        cell="crop",
        find="return image[..., top : top + h, left : left + w]",
        replace="return image[..., top : -top, left : -left]",
        fails=["test_crop", "test_unet"],
    ),
    # --- contracting block --------------------------------------------------------------------
    dict(
        id="padded-3x3-conv",
        cell="contracting_block",
        find="self.conv1 = nn.Conv2d(in_channels, 2 * in_channels, kernel_size=3)",
        replace="self.conv1 = nn.Conv2d(in_channels, 2 * in_channels, kernel_size=3, padding=1)",
        fails=["test_contracting_block", "test_unet"],
    ),
    dict(
        id="no-relu-after-second-conv",
        cell="contracting_block",
        find="return self.activation(self.conv2(x))",
        replace="return self.conv2(x)",
        fails=["test_contracting_block"],
    ),
    dict(
        id="forgot-max-pool",
        cell="contracting_block",
        find="return self.maxpool(self.features(x))",
        replace="return self.features(x)",
        fails=["test_contracting_block"],
    ),
    dict(
        id="max-pool-stride-1",
        cell="contracting_block",
        find="nn.MaxPool2d(kernel_size=2, stride=2)",
        replace="nn.MaxPool2d(kernel_size=2, stride=1)",
        fails=["test_contracting_block", "test_unet"],
    ),
    # --- expanding block ----------------------------------------------------------------------
    dict(
        id="concat-skip-first",
        cell="expanding_block",
        find="torch.cat([x, crop(skip, x.shape)], dim=1)",
        replace="torch.cat([crop(skip, x.shape), x], dim=1)",
        fails=["test_expanding_block"],
    ),
    dict(
        id="concat-on-batch-axis",
        cell="expanding_block",
        find="torch.cat([x, crop(skip, x.shape)], dim=1)",
        replace="torch.cat([x, crop(skip, x.shape)], dim=0)",
        fails=["test_expanding_block", "test_unet"],
    ),
    dict(
        id="relu-after-up-convolution",
        cell="expanding_block",
        find="x = self.conv1(self.upsample(x))",
        replace="x = self.activation(self.conv1(self.upsample(x)))",
        fails=["test_expanding_block"],
    ),
    # --- feature map block --------------------------------------------------------------------
    dict(
        id="feature-map-3x3",
        cell="feature_map_block",
        find="nn.Conv2d(in_channels, out_channels, kernel_size=1)",
        replace="nn.Conv2d(in_channels, out_channels, kernel_size=3)",
        fails=["test_feature_map_block", "test_unet"],
    ),
    # --- U-Net forward ------------------------------------------------------------------------
    dict(
        id="skips-not-reversed",
        cell="unet",
        find="zip(self.expand, reversed(skips))",
        replace="zip(self.expand, skips)",
        fails=["test_unet"],
    ),
    dict(
        id="no-pooling-between-levels",
        cell="unet",
        find="x = block.maxpool(x)",
        replace="pass",
        fails=["test_unet"],
    ),
    dict(
        id="sigmoid-on-the-logits",
        cell="unet",
        find="return self.downfeature(x)",
        replace="return torch.sigmoid(self.downfeature(x))",
        fails=["test_unet"],
    ),
    # --- the Pix2Pix generator's skip block ------------------------------------------------------
    dict(
        id="bias-where-no-norm-follows",
        cell="skip_block",
        find="kernel_size=4, stride=2, padding=1, bias=False)]",
        replace="kernel_size=4, stride=2, padding=1, bias=outermost or innermost)]",
        fails=["test_skip_block", "test_pix2pix_generator"],
    ),
    dict(
        id="batchnorm-on-the-first-layer",
        cell="skip_block",
        find="if not (outermost or innermost):",
        replace="if not innermost:",
        fails=["test_skip_block", "test_pix2pix_generator"],
    ),
    dict(
        id="skip-concatenated-last",
        cell="skip_block",
        find="return torch.cat([x, y], dim=1)",
        replace="return torch.cat([y, x], dim=1)",
        fails=["test_skip_block", "test_pix2pix_generator"],
    ),
    dict(
        id="no-dropout",
        cell="skip_block",
        find="up.append(nn.Dropout(dropout))",
        replace="pass",
        fails=["test_skip_block", "test_pix2pix_generator"],
    ),
    dict(
        id="relu-in-the-encoder",
        cell="skip_block",
        find="down.append(nn.LeakyReLU(0.2))",
        replace="down.append(nn.ReLU())",
        fails=["test_skip_block", "test_pix2pix_generator"],
    ),
    dict(
        id="no-tanh",
        cell="skip_block",
        find="nn.Tanh()]",
        replace="]",
        fails=["test_skip_block", "test_pix2pix_generator"],
    ),
    dict(
        id="up-conv-ignores-the-skip-channels",
        cell="skip_block",
        find="up_in = inner_channels if innermost else 2 * inner_channels",
        replace="up_in = inner_channels",
        fails=["test_skip_block", "test_pix2pix_generator"],
    ),
]

HARMLESS = [
    dict(
        id="comment-names-course-utils",
        cell="crop",
        find="    h, w = new_shape[-2], new_shape[-1]",
        replace="    # same offsets as course_utils.models.unet.crop, written by hand\n"
        "    h, w = new_shape[-2], new_shape[-1]",
    ),
    dict(
        id="docstring-names-course-utils",
        cell="skip_block",
        find='        """down, submodule, up; then torch.cat([x, y], dim=1), except in the '
        'outermost block."""',
        replace='        """Like course_utils.models.generator.UnetBlock.forward: down, submodule, '
        'up, skip."""',
    ),
]

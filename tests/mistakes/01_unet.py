"""Mistakes students make in notebook 1 (U-Net), and the test cells that must catch them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution
cell of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
Note that the visible part of ``test_unet`` runs the student's own blocks, so a block mistake
that changes shapes also costs ``test_unet``; its hidden part grades ``forward`` alone.
"""

NOTEBOOK = "solutions/01_unet/01_unet.ipynb"

MISTAKES = [
    # --- crop ---------------------------------------------------------------------------------
    dict(id="crop-top-offset-rounds-up", cell="crop",
         find="top = (image.shape[-2] - h) // 2", replace="top = (image.shape[-2] - h + 1) // 2",
         fails=["test_crop"]),
    dict(id="crop-negative-end-index", cell="crop",
         find="return image[..., top : top + h, left : left + w]",
         replace="return image[..., top : -top, left : -left]",
         fails=["test_crop", "test_unet"]),
    # --- contracting block --------------------------------------------------------------------
    dict(id="padded-3x3-conv", cell="contracting_block",
         find="self.conv1 = nn.Conv2d(in_channels, 2 * in_channels, kernel_size=3)",
         replace="self.conv1 = nn.Conv2d(in_channels, 2 * in_channels, kernel_size=3, padding=1)",
         fails=["test_contracting_block", "test_unet"]),
    dict(id="no-relu-after-second-conv", cell="contracting_block",
         find="return self.activation(self.conv2(x))", replace="return self.conv2(x)",
         fails=["test_contracting_block"]),
    dict(id="forgot-max-pool", cell="contracting_block",
         find="return self.maxpool(self.features(x))", replace="return self.features(x)",
         fails=["test_contracting_block"]),
    dict(id="max-pool-stride-1", cell="contracting_block",
         find="nn.MaxPool2d(kernel_size=2, stride=2)", replace="nn.MaxPool2d(kernel_size=2, stride=1)",
         fails=["test_contracting_block", "test_unet"]),
    # --- expanding block ----------------------------------------------------------------------
    dict(id="concat-skip-first", cell="expanding_block",
         find="torch.cat([x, crop(skip, x.shape)], dim=1)", replace="torch.cat([crop(skip, x.shape), x], dim=1)",
         fails=["test_expanding_block"]),
    dict(id="concat-on-batch-axis", cell="expanding_block",
         find="torch.cat([x, crop(skip, x.shape)], dim=1)", replace="torch.cat([x, crop(skip, x.shape)], dim=0)",
         fails=["test_expanding_block", "test_unet"]),
    dict(id="relu-after-up-convolution", cell="expanding_block",
         find="x = self.conv1(self.upsample(x))", replace="x = self.activation(self.conv1(self.upsample(x)))",
         fails=["test_expanding_block"]),
    # --- feature map block --------------------------------------------------------------------
    dict(id="feature-map-3x3", cell="feature_map_block",
         find="nn.Conv2d(in_channels, out_channels, kernel_size=1)",
         replace="nn.Conv2d(in_channels, out_channels, kernel_size=3)",
         fails=["test_feature_map_block", "test_unet"]),
    # --- U-Net forward ------------------------------------------------------------------------
    dict(id="skips-not-reversed", cell="unet",
         find="zip(self.expand, reversed(skips))", replace="zip(self.expand, skips)",
         fails=["test_unet"]),
    dict(id="no-pooling-between-levels", cell="unet",
         find="x = block.maxpool(x)", replace="pass",
         fails=["test_unet"]),
    dict(id="sigmoid-on-the-logits", cell="unet",
         find="return self.downfeature(x)", replace="return torch.sigmoid(self.downfeature(x))",
         fails=["test_unet"]),
]

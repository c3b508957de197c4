"""Correct answers to notebook 7 written independently of the reference (see README.md)."""

NOTEBOOK = "solutions/07_srgan/07_srgan.ipynb"

# --- student_a: step by step, intermediate variables with long names -------------------------

_A_SUBPIXEL_INIT = """\
        number_of_output_channels = channels * upscale ** 2
        self.conv = nn.Conv2d(channels, number_of_output_channels, kernel_size=3, stride=1,
                              padding=1, bias=True)
        self.shuffle = nn.PixelShuffle(upscale)
        self.act = nn.PReLU()
"""

_A_SUBPIXEL_FORWARD = """\
        low_resolution_features = self.conv(x)
        high_resolution_features = self.shuffle(low_resolution_features)
        activated_features = self.act(high_resolution_features)
        return activated_features
"""

_A_RESIDUAL_INIT = """\
        layers = []
        layers.append(nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=True))
        layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.PReLU())
        layers.append(nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=True))
        layers.append(nn.BatchNorm2d(channels))
        self.body = nn.Sequential(*layers)
"""

_A_RESIDUAL_FORWARD = """\
        residual = self.body(x)
        output = x + residual
        return output
"""

_A_LOSS_GENERATOR = """\
    content = content_loss(fake_B, real_B)
    logits_on_fake = netD(fake_B)
    labels_real = torch.ones_like(logits_on_fake)
    adversarial = F.binary_cross_entropy_with_logits(logits_on_fake, labels_real)
    loss_G = content + lambda_adv * adversarial
    return loss_G, content, adversarial
"""

_A_LOSS_STEP = """\
    fake_B = netG(real_A)

    # discriminator update, on the detached fake
    optD.zero_grad()
    logits_on_real = netD(real_B)
    labels_real = torch.ones_like(logits_on_real)
    loss_D_real = F.binary_cross_entropy_with_logits(logits_on_real, labels_real)
    logits_on_fake = netD(fake_B.detach())
    labels_fake = torch.zeros_like(logits_on_fake)
    loss_D_fake = F.binary_cross_entropy_with_logits(logits_on_fake, labels_fake)
    loss_D = loss_D_real + loss_D_fake
    loss_D.backward()
    optD.step()

    # generator update, the adversarial gradient flows through netD
    optG.zero_grad()
    loss_G, content, adversarial = generator_loss(netD, fake_B, real_B, content_loss, lambda_adv)
    loss_G.backward()
    optG.step()

    result = {"loss_D": loss_D.item(), "loss_G": loss_G.item()}
    return result
"""

_A_VGG_INIT = """\
        truncated_features = features[:36]
        truncated_features.eval()
        for parameter in truncated_features.parameters():
            parameter.requires_grad_(False)
        self.features = truncated_features
"""

_A_VGG_FORWARD = """\
        dtype, device = fake_B.dtype, fake_B.device
        mean = torch.tensor(IMAGENET_MEAN, dtype=dtype, device=device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=dtype, device=device).view(1, 3, 1, 1)

        fake_in_unit_range = (fake_B + 1) / 2
        real_in_unit_range = (real_B + 1) / 2
        fake_normalised = (fake_in_unit_range - mean) / std
        real_normalised = (real_in_unit_range - mean) / std

        fake_features = self.features(fake_normalised)
        with torch.no_grad():
            real_features = self.features(real_normalised)

        feature_mse = F.mse_loss(fake_features, real_features)
        loss = VGG54_SCALE * feature_mse
        return loss
"""

_A_LUMA = """\
    rgb_values = images.astype(np.float64)
    red_channel = rgb_values[..., 0]
    green_channel = rgb_values[..., 1]
    blue_channel = rgb_values[..., 2]
    luma = 16.0 + (65.481 * red_channel + 128.553 * green_channel + 24.966 * blue_channel) / 255.0
    if border > 0:
        luma = luma[:, border:-border, border:-border]
    return luma
"""

_A_PSNR = """\
    luma_real = luma_y(real, border)
    luma_fake = luma_y(fake, border)
    squared_errors = (luma_real - luma_fake) ** 2
    number_of_images = squared_errors.shape[0]
    mse_per_image = squared_errors.reshape(number_of_images, -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        psnr_per_image = 10.0 * np.log10(255.0 ** 2 / mse_per_image)
    return psnr_per_image
"""

# --- student_b: compact expressions -----------------------------------------------------------

_B_SUBPIXEL_INIT = """\
        self.conv = nn.Conv2d(channels, channels * upscale**2, 3, padding=1)
        self.shuffle, self.act = nn.PixelShuffle(upscale), nn.PReLU()
"""

_B_SUBPIXEL_FORWARD = """\
        return self.act(self.shuffle(self.conv(x)))
"""

_B_RESIDUAL_INIT = """\
        c = channels
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.PReLU(),
                                  nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))
"""

_B_RESIDUAL_FORWARD = """\
        return x + self.body(x)
"""

_B_LOSS_GENERATOR = """\
    c, adv = content_loss(fake_B, real_B), -F.logsigmoid(netD(fake_B)).mean()
    return c + lambda_adv * adv, c, adv
"""

_B_LOSS_STEP = """\
    fake = netG(real_A)
    optD.zero_grad()
    d_real, d_fake = netD(real_B), netD(fake.detach())
    loss_D = -F.logsigmoid(d_real).mean() - F.logsigmoid(-d_fake).mean()
    loss_D.backward()
    optD.step()
    optG.zero_grad()
    loss_G = generator_loss(netD, fake, real_B, content_loss, lambda_adv)[0]
    loss_G.backward()
    optG.step()
    return {"loss_D": float(loss_D), "loss_G": float(loss_G)}
"""

_B_VGG_INIT = """\
        self.features = features[:36].eval().requires_grad_(False)
        for name, stat in (("mean", IMAGENET_MEAN), ("std", IMAGENET_STD)):
            self.register_buffer(name, torch.tensor(stat).view(1, -1, 1, 1), persistent=False)
"""

_B_VGG_FORWARD = """\
        phi = lambda img: self.features(img.add(1).mul(0.5).sub(self.mean).div(self.std))
        return VGG54_SCALE * F.mse_loss(phi(fake_B), phi(real_B).detach())
"""

_B_LUMA = """\
    y = images.astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255 + 16
    return y[:, border:y.shape[1] - border, border:y.shape[2] - border]
"""

_B_PSNR = """\
    mse = ((luma_y(real, border) - luma_y(fake, border)) ** 2).mean(axis=(1, 2))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(255.0**2 / mse)
"""

# --- student_c: another decomposition (helpers, other order, alternative ops) ------------------

_C_SUBPIXEL_INIT = """\
        self.upscale = upscale
        expanded = upscale * upscale * channels
        self.conv = nn.Conv2d(in_channels=channels, out_channels=expanded, kernel_size=(3, 3),
                              padding=(1, 1))
        self.shuffle = nn.PixelShuffle(upscale_factor=upscale)
        self.act = nn.PReLU(num_parameters=1)
"""

_C_SUBPIXEL_FORWARD = """\
        h = F.pixel_shuffle(self.conv(x), self.upscale)
        return self.act(h)
"""

_C_RESIDUAL_INIT = """\
        from collections import OrderedDict

        def conv3x3():
            return nn.Conv2d(channels, channels, kernel_size=3, padding=1, bias=True)

        self.body = nn.Sequential(OrderedDict([
            ("conv_a", conv3x3()),
            ("bn_a", nn.BatchNorm2d(channels)),
            ("prelu", nn.PReLU()),
            ("conv_b", conv3x3()),
            ("bn_b", nn.BatchNorm2d(channels)),
        ]))
"""

_C_RESIDUAL_FORWARD = """\
        skip = x
        return torch.add(self.body(x), skip)
"""

_C_LOSS_GENERATOR = """\
    # -log D(G(z)) = -log sigmoid(logit) = softplus(-logit), averaged over the batch
    adversarial = F.softplus(-netD(fake_B)).mean()
    content = content_loss(fake_B, real_B)
    total = torch.add(content, adversarial, alpha=lambda_adv)
    return total, content, adversarial
"""

_C_LOSS_STEP = """\
    def d_loss(real_logits, fake_logits):
        # BCE(real, 1) + BCE(fake, 0): softplus(-x) and softplus(x)
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    generated = netG(real_A)

    netD.zero_grad(set_to_none=True)
    disc_loss = d_loss(netD(real_B), netD(generated.detach()))
    disc_loss.backward()
    optD.step()

    netG.zero_grad(set_to_none=True)
    gen_loss, _content, _adv = generator_loss(netD, generated, real_B, content_loss,
                                              lambda_adv=lambda_adv)
    gen_loss.backward()
    optG.step()

    stats = {}
    stats["loss_D"] = disc_loss.detach().item()
    stats["loss_G"] = gen_loss.detach().item()
    return stats
"""

_C_VGG_INIT = """\
        kept = nn.Sequential(*list(features.children())[:36])
        for weight in kept.parameters():
            weight.requires_grad = False
        self.features = kept.train(False)
"""

_C_VGG_FORWARD = """\
        def to_vgg_input(img):
            # [-1, 1] -> [0, 1] -> ImageNet statistics, one affine map per channel
            shape = (1, 3, 1, 1)
            m = img.new_tensor(IMAGENET_MEAN).reshape(shape)
            s = img.new_tensor(IMAGENET_STD).reshape(shape)
            return (img * 0.5 + 0.5 - m) / s

        with torch.no_grad():
            target = self.features(to_vgg_input(real_B))
        output = self.features(to_vgg_input(fake_B))
        return ((output - target) ** 2).mean() * VGG54_SCALE
"""

_C_LUMA = """\
    h, w = images.shape[1], images.shape[2]
    cropped = images[:, border:h - border, border:w - border, :].astype(np.float64)
    bt601 = np.array([65.481, 128.553, 24.966]) / 255.0
    return np.einsum("nhwc,c->nhw", cropped, bt601) + 16.0
"""

_C_PSNR = """\
    def mean_squared_error(a, b):
        diff = a - b
        return np.mean(diff * diff, axis=tuple(range(1, diff.ndim)))

    mse = mean_squared_error(luma_y(fake, border), luma_y(real, border))
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(255.0) - 10.0 * np.log10(mse)
"""

ANSWERS = {
    "student_a": {
        "subpixel": [_A_SUBPIXEL_INIT, _A_SUBPIXEL_FORWARD],
        "residual_block": [_A_RESIDUAL_INIT, _A_RESIDUAL_FORWARD],
        "srgan_loss": [_A_LOSS_GENERATOR, _A_LOSS_STEP],
        "vgg54_loss": [_A_VGG_INIT, _A_VGG_FORWARD],
        "psnr_y": [_A_LUMA, _A_PSNR],
    },
    "student_b": {
        "subpixel": [_B_SUBPIXEL_INIT, _B_SUBPIXEL_FORWARD],
        "residual_block": [_B_RESIDUAL_INIT, _B_RESIDUAL_FORWARD],
        "srgan_loss": [_B_LOSS_GENERATOR, _B_LOSS_STEP],
        "vgg54_loss": [_B_VGG_INIT, _B_VGG_FORWARD],
        "psnr_y": [_B_LUMA, _B_PSNR],
    },
    "student_c": {
        "subpixel": [_C_SUBPIXEL_INIT, _C_SUBPIXEL_FORWARD],
        "residual_block": [_C_RESIDUAL_INIT, _C_RESIDUAL_FORWARD],
        "srgan_loss": [_C_LOSS_GENERATOR, _C_LOSS_STEP],
        "vgg54_loss": [_C_VGG_INIT, _C_VGG_FORWARD],
        "psnr_y": [_C_LUMA, _C_PSNR],
    },
}

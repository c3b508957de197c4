"""Correct answers to notebook 6 written independently of the reference (see README.md)."""

NOTEBOOK = "solutions/06_gaugan/06_gaugan.ipynb"

# --- student_a: explicit, one step per line, long names ----------------------------------------

_A_SPADE_INIT = """\
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        shared_convolution = nn.Conv2d(label_nc, hidden, kernel_size=3, padding=1)
        self.mlp_shared = nn.Sequential(shared_convolution, nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, kernel_size=3, padding=1)
"""

_A_SPADE_FORWARD = """\
        normalized_features = self.param_free_norm(x)
        feature_height, feature_width = x.shape[2], x.shape[3]
        resized_segmap = F.interpolate(segmap, size=(feature_height, feature_width), mode="nearest")
        shared_activations = self.mlp_shared(resized_segmap)
        gamma_map = self.mlp_gamma(shared_activations)
        beta_map = self.mlp_beta(shared_activations)
        modulated_features = normalized_features * (1.0 + gamma_map) + beta_map
        return modulated_features
"""

_A_BLOCK_INIT = """\
        self.learned_shortcut = fin != fout
        middle_channels = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, middle_channels, kernel_size=3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(middle_channels, fout, kernel_size=3, padding=1))
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, kernel_size=1, bias=False))
        self.norm_0 = SPADE(fin, label_nc, hidden=hidden)
        self.norm_1 = SPADE(middle_channels, label_nc, hidden=hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_nc, hidden=hidden)
"""

_A_BLOCK_SHORTCUT = """\
        if self.learned_shortcut:
            normalized_input = self.norm_s(x, segmap)
            shortcut_output = self.conv_s(normalized_input)
        else:
            shortcut_output = x
        return shortcut_output
"""

_A_BLOCK_FORWARD = """\
        shortcut_output = self.shortcut(x, segmap)
        first_normalized = self.norm_0(x, segmap)
        first_activated = F.leaky_relu(first_normalized, negative_slope=0.2)
        first_convolved = self.conv_0(first_activated)
        second_normalized = self.norm_1(first_convolved, segmap)
        second_activated = F.leaky_relu(second_normalized, negative_slope=0.2)
        residual = self.conv_1(second_activated)
        output = shortcut_output + residual
        return output
"""

_A_HINGE_D = """\
    per_scale_losses = []
    for scale_outputs in outputs:
        patch_scores = scale_outputs[-1]
        if target_is_real:
            hinge_values = F.relu(1.0 - patch_scores)
        else:
            hinge_values = F.relu(1.0 + patch_scores)
        per_scale_losses.append(hinge_values.mean())
    total_loss = sum(per_scale_losses)
    average_loss = total_loss / len(per_scale_losses)
    return average_loss
"""

_A_HINGE_G = """\
    per_scale_losses = []
    for scale_outputs in outputs:
        fake_patch_scores = scale_outputs[-1]
        per_scale_losses.append(-fake_patch_scores.mean())
    average_loss = torch.stack(per_scale_losses).mean()
    return average_loss
"""

_A_REPARAM = """\
    standard_deviation = torch.exp(0.5 * logvar)
    noise = torch.randn_like(mu)
    sampled_code = mu + noise * standard_deviation
    return sampled_code
"""

_A_KL = """\
    variance = torch.exp(logvar)
    mean_squared = mu ** 2
    per_element = 1 + logvar - mean_squared - variance
    kl_total = -0.5 * torch.sum(per_element)
    return kl_total
"""

# --- student_b: compact expressions -------------------------------------------------------------

_B_SPADE_INIT = """\
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU(True))
        self.mlp_gamma, self.mlp_beta = (nn.Conv2d(hidden, norm_nc, 3, padding=1) for _ in "gb")
"""

_B_SPADE_FORWARD = """\
        h = self.mlp_shared(F.interpolate(segmap, size=x.shape[-2:], mode="nearest"))
        return self.param_free_norm(x) * (1 + self.mlp_gamma(h)) + self.mlp_beta(h)
"""

_B_BLOCK_INIT = """\
        self.learned_shortcut = fin != fout
        fmid = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, fmid, 3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(fmid, fout, 3, padding=1))
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))
        self.norm_0 = SPADE(fin, label_nc, hidden=hidden)
        self.norm_1 = SPADE(fmid, label_nc, hidden=hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_nc, hidden=hidden)
"""

_B_BLOCK_SHORTCUT = """\
        return self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x
"""

_B_BLOCK_FORWARD = """\
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return self.shortcut(x, segmap) + dx
"""

_B_HINGE_D = """\
    sign = -1.0 if target_is_real else 1.0
    return torch.stack([F.relu(1.0 + sign * o[-1]).mean() for o in outputs]).mean()
"""

_B_HINGE_G = """\
    return -torch.stack([o[-1].mean() for o in outputs]).mean()
"""

_B_REPARAM = """\
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()
"""

_B_KL = """\
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
"""

# --- student_c: small helpers, other statement order, alternative torch ops ---------------------

_C_SPADE_INIT = """\
        def conv3x3(cin, cout):
            return nn.Conv2d(cin, cout, kernel_size=(3, 3), stride=1, padding=1, bias=True)

        self.param_free_norm = nn.BatchNorm2d(num_features=norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(*[conv3x3(label_nc, hidden), nn.ReLU()])
        for attribute in ("mlp_gamma", "mlp_beta"):
            setattr(self, attribute, conv3x3(hidden, norm_nc))
"""

_C_SPADE_FORWARD = """\
        height, width = x.size(-2), x.size(-1)
        labels = F.interpolate(segmap, size=[height, width], mode="nearest")
        hidden_map = self.mlp_shared(labels)
        gamma, beta = self.mlp_gamma(hidden_map), self.mlp_beta(hidden_map)
        return torch.addcmul(beta, self.param_free_norm(x), gamma + 1)
"""

_C_BLOCK_INIT = """\
        def sn_conv(cin, cout, k, **extra):
            return spectral_norm(nn.Conv2d(cin, cout, kernel_size=k, padding=k // 2, **extra))

        fmiddle = fin if fin < fout else fout
        self.learned_shortcut = bool(fin - fout)
        self.conv_0 = sn_conv(fin, fmiddle, 3)
        self.conv_1 = sn_conv(fmiddle, fout, 3)
        if self.learned_shortcut:
            self.conv_s = sn_conv(fin, fout, 1, bias=False)
        norm_widths = {"norm_0": fin, "norm_1": fmiddle}
        if self.learned_shortcut:
            norm_widths["norm_s"] = fin
        for name, width in norm_widths.items():
            self.add_module(name, SPADE(width, label_nc, hidden=hidden))
        self.act = nn.LeakyReLU(negative_slope=0.2)
"""

_C_BLOCK_SHORTCUT = """\
        if not self.learned_shortcut:
            return x
        return self.conv_s(self.norm_s(x, segmap))
"""

_C_BLOCK_FORWARD = """\
        dx = x
        for norm, conv in ((self.norm_0, self.conv_0), (self.norm_1, self.conv_1)):
            dx = conv(self.act(norm(dx, segmap)))
        return dx + self.shortcut(x, segmap)
"""

_C_HINGE_D = """\
    def scale_term(scores):
        margin = 1.0 - scores if target_is_real else 1.0 + scores
        return torch.clamp(margin, min=0).sum() / scores.numel()

    terms = [scale_term(per_scale[-1]) for per_scale in outputs]
    return sum(terms) / len(terms)
"""

_C_HINGE_G = """\
    total, count = 0.0, 0
    for per_scale in outputs:
        total = total - torch.mean(per_scale[-1])
        count += 1
    return total / count
"""

_C_REPARAM = """\
    eps = torch.randn_like(mu)
    sigma = torch.sqrt(torch.exp(logvar))
    return eps.mul(sigma).add(mu)
"""

_C_KL = """\
    variance = logvar.exp()
    return 0.5 * torch.sum(mu * mu + variance - logvar - 1)
"""

ANSWERS = {
    "student_a": {
        "spade_layer": [_A_SPADE_INIT, _A_SPADE_FORWARD],
        "spade_resblock": [_A_BLOCK_INIT, _A_BLOCK_SHORTCUT, _A_BLOCK_FORWARD],
        "hinge_losses": [_A_HINGE_D, _A_HINGE_G],
        "vae_sampling": [_A_REPARAM, _A_KL],
    },
    "student_b": {
        "spade_layer": [_B_SPADE_INIT, _B_SPADE_FORWARD],
        "spade_resblock": [_B_BLOCK_INIT, _B_BLOCK_SHORTCUT, _B_BLOCK_FORWARD],
        "hinge_losses": [_B_HINGE_D, _B_HINGE_G],
        "vae_sampling": [_B_REPARAM, _B_KL],
    },
    "student_c": {
        "spade_layer": [_C_SPADE_INIT, _C_SPADE_FORWARD],
        "spade_resblock": [_C_BLOCK_INIT, _C_BLOCK_SHORTCUT, _C_BLOCK_FORWARD],
        "hinge_losses": [_C_HINGE_D, _C_HINGE_G],
        "vae_sampling": [_C_REPARAM, _C_KL],
    },
}

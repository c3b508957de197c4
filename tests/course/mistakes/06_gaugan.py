"""Mistakes students make in notebook 6 (GauGAN / SPADE), and the test cells that must catch them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution cell
of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.
``HARMLESS`` lists correct variants that must keep full marks.
"""

NOTEBOOK = "solutions/06_gaugan/06_gaugan.ipynb"

MISTAKES = [
    # --- the SPADE layer ------------------------------------------------------------------------
    dict(
        id="bilinear-resize-of-the-labels",
        cell="spade_layer",
        find='mode="nearest")',
        replace='mode="bilinear", align_corners=False)',
        fails=["test_spade_layer"],
    ),
    dict(
        id="map-not-resized",
        cell="spade_layer",
        find='        segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")\n',
        replace="",
        fails=["test_spade_layer"],
    ),
    dict(
        id="affine-batchnorm",
        cell="spade_layer",
        find="nn.BatchNorm2d(norm_nc, affine=False)",
        replace="nn.BatchNorm2d(norm_nc)",
        fails=["test_spade_layer"],
    ),
    dict(
        id="instance-norm-instead-of-batch-norm",
        cell="spade_layer",
        find="nn.BatchNorm2d(norm_nc, affine=False)",
        replace="nn.InstanceNorm2d(norm_nc, affine=False)",
        fails=["test_spade_layer"],
    ),
    dict(
        id="gamma-without-the-one",
        cell="spade_layer",
        find="return normalized * (1 + gamma) + beta",
        replace="return normalized * gamma + beta",
        fails=["test_spade_layer"],
    ),
    dict(
        id="no-relu-in-the-shared-layer",
        cell="spade_layer",
        find="nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())",
        replace="nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1))",
        fails=["test_spade_layer"],
    ),
    dict(
        id="gamma-and-beta-swapped",
        cell="spade_layer",
        find="        gamma = self.mlp_gamma(actv)\n        beta = self.mlp_beta(actv)\n",
        replace="        gamma = self.mlp_beta(actv)\n        beta = self.mlp_gamma(actv)\n",
        fails=["test_spade_layer"],
    ),
    # --- the SPADE ResBlk -----------------------------------------------------------------------
    dict(
        id="shortcut-always-learned",
        cell="spade_resblock",
        find="self.learned_shortcut = fin != fout",
        replace="self.learned_shortcut = True",
        fails=["test_spade_resblock"],
    ),
    dict(
        id="shortcut-without-spade",
        cell="spade_resblock",
        find="return self.conv_s(self.norm_s(x, segmap))",
        replace="return self.conv_s(x)",
        fails=["test_spade_resblock"],
    ),
    dict(
        id="shortcut-with-activation",
        cell="spade_resblock",
        find="return self.conv_s(self.norm_s(x, segmap))",
        replace="return self.conv_s(F.leaky_relu(self.norm_s(x, segmap), 0.2))",
        fails=["test_spade_resblock"],
    ),
    dict(
        id="shortcut-conv-with-bias",
        cell="spade_resblock",
        find="nn.Conv2d(fin, fout, 1, bias=False)",
        replace="nn.Conv2d(fin, fout, 1)",
        fails=["test_spade_resblock"],
    ),
    dict(
        id="middle-width-is-fout",
        cell="spade_resblock",
        find="fmiddle = min(fin, fout)",
        replace="fmiddle = fout",
        fails=["test_spade_resblock"],
    ),
    dict(
        id="relu-instead-of-leaky-relu",
        cell="spade_resblock",
        find="dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))",
        replace="dx = self.conv_0(F.relu(self.norm_0(x, segmap)))",
        fails=["test_spade_resblock"],
    ),
    dict(
        id="no-spectral-norm",
        cell="spade_resblock",
        find="self.conv_0 = spectral_norm(nn.Conv2d(fin, fmiddle, 3, padding=1))",
        replace="self.conv_0 = nn.Conv2d(fin, fmiddle, 3, padding=1)",
        fails=["test_spade_resblock"],
    ),
    dict(
        id="no-residual-sum",
        cell="spade_resblock",
        find="return x_s + dx",
        replace="return dx",
        fails=["test_spade_resblock"],
    ),
    # --- the hinge losses -----------------------------------------------------------------------
    dict(
        id="hinge-on-the-features",
        cell="hinge_losses",
        find="scores = per_scale[-1]",
        replace="scores = per_scale[0]",
        fails=["test_hinge_losses"],
    ),
    dict(
        id="d-loss-summed-over-scales",
        cell="hinge_losses",
        find="            losses.append(F.relu(1 + scores).mean())\n"
        "    return sum(losses) / len(losses)\n",
        replace="            losses.append(F.relu(1 + scores).mean())\n    return sum(losses)\n",
        fails=["test_hinge_losses"],
    ),
    dict(
        id="wasserstein-instead-of-hinge",
        cell="hinge_losses",
        find="losses.append(F.relu(1 - scores).mean())",
        replace="losses.append((-scores).mean())",
        fails=["test_hinge_losses"],
    ),
    dict(
        id="fake-sign-flipped",
        cell="hinge_losses",
        find="losses.append(F.relu(1 + scores).mean())",
        replace="losses.append(F.relu(1 - scores).mean())",
        fails=["test_hinge_losses"],
    ),
    dict(
        id="generator-hinged",
        cell="hinge_losses",
        find="losses = [-per_scale[-1].mean() for per_scale in outputs]",
        replace="losses = [F.relu(1 - per_scale[-1]).mean() for per_scale in outputs]",
        fails=["test_hinge_losses"],
    ),
    dict(
        id="generator-not-negated",
        cell="hinge_losses",
        find="losses = [-per_scale[-1].mean() for per_scale in outputs]",
        replace="losses = [per_scale[-1].mean() for per_scale in outputs]",
        fails=["test_hinge_losses"],
    ),
    dict(
        id="generator-first-scale-only",
        cell="hinge_losses",
        find="losses = [-per_scale[-1].mean() for per_scale in outputs]",
        replace="losses = [-per_scale[-1].mean() for per_scale in outputs[:1]]",
        fails=["test_hinge_losses"],
    ),
    # --- the style encoder's sampling and KL term ------------------------------------------------
    dict(
        id="sigma-is-exp-logvar",
        cell="vae_sampling",
        find="torch.randn_like(mu) * torch.exp(0.5 * logvar)",
        replace="torch.randn_like(mu) * torch.exp(logvar)",
        fails=["test_vae_sampling"],
    ),
    dict(
        id="samples-z-without-the-trick",
        cell="vae_sampling",
        find="    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)",
        replace="    return (mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)).detach()",
        fails=["test_vae_sampling"],
    ),
    dict(
        id="kl-averaged-not-summed",
        cell="vae_sampling",
        find="-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())",
        replace="-0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())",
        fails=["test_vae_sampling"],
    ),
]

HARMLESS = [
    dict(
        id="modulation-expanded",
        cell="spade_layer",
        find="return normalized * (1 + gamma) + beta",
        replace="return normalized + normalized * gamma + beta",
    ),
    dict(
        id="leaky-relu-keyword",
        cell="spade_resblock",
        find="dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))",
        replace="dx = self.conv_0(nn.functional.leaky_relu(self.norm_0(x, segmap), "
        "negative_slope=0.2))",
    ),
    dict(
        id="clamp-instead-of-relu",
        cell="hinge_losses",
        find="losses.append(F.relu(1 - scores).mean())",
        replace="losses.append(torch.clamp(1 - scores, min=0).mean())",
    ),
    dict(
        id="stacked-mean",
        cell="hinge_losses",
        find="    losses = [-per_scale[-1].mean() for per_scale in outputs]\n"
        "    return sum(losses) / len(losses)\n",
        replace="    return torch.stack([-o[-1].mean() for o in outputs]).mean()\n",
    ),
]

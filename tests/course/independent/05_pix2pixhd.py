"""Correct answers to notebook 5 written independently of the reference (see README.md)."""

NOTEBOOK = "solutions/05_pix2pixhd/05_pix2pixhd.ipynb"

# --- student_a: explicit loops, intermediate variables with long names --------------------------

A_MULTISCALE_INIT = """\
        self.number_of_scales = num_D
        discriminator_list = []
        for scale_index in range(num_D):
            one_discriminator = PatchDiscriminator(in_channels, ndf, n_layers)
            discriminator_list.append(one_discriminator)
        self.nets = nn.ModuleList(discriminator_list)
"""

A_MULTISCALE_FORWARD = """\
        outputs_for_every_scale = []
        current_input_image = real_A
        current_other_image = B
        for scale_index in range(len(self.nets)):
            if scale_index > 0:
                current_input_image = F.avg_pool2d(current_input_image, kernel_size=3, stride=2,
                                                   padding=1, count_include_pad=False)
                current_other_image = F.avg_pool2d(current_other_image, kernel_size=3, stride=2,
                                                   padding=1, count_include_pad=False)
            discriminator_at_this_scale = self.nets[scale_index]
            outputs_at_this_scale = discriminator_at_this_scale(current_input_image,
                                                                current_other_image)
            outputs_for_every_scale.append(outputs_at_this_scale)
        return outputs_for_every_scale
"""

A_FEATURE_MATCHING = """\
    total_feature_loss = 0.0
    for scale_index in range(len(fake_outputs)):
        real_list_at_scale = real_outputs[scale_index]
        fake_list_at_scale = fake_outputs[scale_index]
        number_of_feature_layers = len(fake_list_at_scale) - 1  # the last entry is the patch scores
        for layer_index in range(number_of_feature_layers):
            target_features = real_list_at_scale[layer_index].detach()
            generated_features = fake_list_at_scale[layer_index]
            absolute_difference = torch.abs(target_features - generated_features)
            total_feature_loss = total_feature_loss + absolute_difference.mean()
    weighted_feature_loss = lambda_FM * total_feature_loss
    return weighted_feature_loss
"""

A_LOCAL_INIT = """\
        front_layers = []
        front_layers.append(nn.ReflectionPad2d(3))
        front_layers.append(nn.Conv2d(in_channels, ngf_local, kernel_size=7, padding=0))
        front_layers.append(nn.InstanceNorm2d(ngf_local, affine=False))
        front_layers.append(nn.ReLU(inplace=True))
        front_layers.append(nn.Conv2d(ngf_local, c, kernel_size=3, stride=2, padding=1))
        front_layers.append(nn.InstanceNorm2d(c, affine=False))
        front_layers.append(nn.ReLU(inplace=True))
        self.front = nn.Sequential(*front_layers)
"""

A_LOCAL_FORWARD = """\
        half_resolution_input = F.avg_pool2d(real_A, kernel_size=3, stride=2, padding=1,
                                             count_include_pad=False)
        global_generator_features = self.global_net.features(half_resolution_input)
        local_enhancer_features = self.front(real_A)
        fused_features = local_enhancer_features + global_generator_features
        generated_image = self.back(fused_features)
        return generated_image
"""

A_STAGE_AT = """\
    end_of_global_stage = global_fraction
    end_of_frozen_global_stage = global_fraction + freeze_global_fraction
    if progress < end_of_global_stage:
        return "global"
    elif progress < end_of_frozen_global_stage:
        return "local-frozen-global"
    else:
        return "joint"
"""

A_TRAINED = """\
    selected_parameters = []
    for parameter_name, parameter in netG.named_parameters():
        is_in_global_generator = parameter_name.startswith("global_net.")
        is_in_global_output_layer = parameter_name.startswith("global_net.head.")
        if stage == "global":
            should_train = is_in_global_generator
        elif stage == "local-frozen-global":
            should_train = not is_in_global_generator
        elif stage == "joint":
            should_train = not is_in_global_output_layer
        else:
            raise ValueError(f"unknown stage: {stage}")
        if should_train:
            selected_parameters.append(parameter)
    return selected_parameters
"""

# --- student_b: compact, comprehensions and one-liners ------------------------------------------

B_MULTISCALE_INIT = """\
        self.nets = nn.ModuleList([PatchDiscriminator(in_channels, ndf, n_layers)
                                   for _ in range(num_D)])
"""

B_MULTISCALE_FORWARD = """\
        sizes = [real_A.shape[1], B.shape[1]]
        pyramid = [torch.cat([real_A, B], dim=1)]  # pooling works channel by channel
        while len(pyramid) < len(self.nets):
            pyramid.append(F.avg_pool2d(pyramid[-1], 3, 2, 1, count_include_pad=False))
        return [net(*torch.split(x, sizes, dim=1)) for net, x in zip(self.nets, pyramid)]
"""

B_FEATURE_MATCHING = """\
    return lambda_FM * sum(F.l1_loss(f, r.detach()) for rs, fs in zip(real_outputs, fake_outputs)
                           for r, f in zip(rs[:-1], fs[:-1]))
"""

B_LOCAL_INIT = """\
        self.front = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf_local, 7),
            nn.InstanceNorm2d(ngf_local), nn.ReLU(True),
            nn.Conv2d(ngf_local, c, 3, 2, 1), nn.InstanceNorm2d(c), nn.ReLU(True))
"""

B_LOCAL_FORWARD = """\
        low = F.avg_pool2d(real_A, 3, 2, 1, count_include_pad=False)
        return self.back(self.front(real_A) + self.global_net.features(low))
"""

B_STAGE_AT = """\
    return ("global" if progress < global_fraction else
            "local-frozen-global" if progress < global_fraction + freeze_global_fraction else
            "joint")
"""

B_TRAINED = """\
    rule = {"global": lambda n: n.startswith("global_net."),
            "local-frozen-global": lambda n: not n.startswith("global_net."),
            "joint": lambda n: not n.startswith("global_net.head.")}[stage]
    return [p for n, p in netG.named_parameters() if rule(n)]
"""

# --- student_c: small helpers, modules instead of functions, another order ----------------------

C_MULTISCALE_INIT = """\
        self.shrink = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.nets = nn.ModuleList()
        while len(self.nets) < num_D:
            self.nets.append(PatchDiscriminator(in_channels=in_channels, ndf=ndf,
                                                n_layers=n_layers))
"""

C_MULTISCALE_FORWARD = """\
        results, a, b = [], real_A, B
        for k, disc in enumerate(self.nets):
            results.append(disc(a, b))
            if k + 1 < len(self.nets):  # prepare the next, coarser scale
                a, b = self.shrink(a), self.shrink(b)
        return results
"""

C_FEATURE_MATCHING = """\
    def layer_term(real, fake):
        return (fake - real.detach()).abs().mean()

    def scale_terms(real_list, fake_list):
        n_features = len(real_list) - 1
        return [layer_term(real_list[i], fake_list[i]) for i in range(n_features)]

    terms = []
    for real_list, fake_list in zip(real_outputs, fake_outputs):
        terms.extend(scale_terms(real_list, fake_list))
    return torch.stack(terms).sum() * lambda_FM
"""

C_LOCAL_INIT = """\
        def conv_in_relu(c_in, c_out, **conv_kwargs):
            return [nn.Conv2d(c_in, c_out, **conv_kwargs), nn.InstanceNorm2d(c_out, affine=False),
                    nn.ReLU(inplace=True)]

        self.front = nn.Sequential(
            *conv_in_relu(in_channels, ngf_local, kernel_size=7, padding=3, padding_mode="reflect"),
            *conv_in_relu(ngf_local, c, kernel_size=3, stride=2, padding=1),
        )
        self.halve = nn.AvgPool2d(kernel_size=3, stride=2, padding=1, count_include_pad=False)
"""

C_LOCAL_FORWARD = """\
        coarse = self.global_net.features(self.halve(real_A))
        fine = self.front(real_A)
        return self.back(torch.add(coarse, fine))
"""

C_STAGE_AT = """\
    names = ("global", "local-frozen-global", "joint")
    cut_points = (global_fraction, global_fraction + freeze_global_fraction)
    passed = sum(1 for cut in cut_points if progress >= cut)
    return names[passed]
"""

C_TRAINED = """\
    if stage == "global":
        return list(netG.global_net.parameters())
    if stage == "local-frozen-global":
        frozen = {id(p) for p in netG.global_net.parameters()}
    elif stage == "joint":
        frozen = {id(p) for p in netG.global_net.head.parameters()}
    else:
        raise ValueError(f"no such stage {stage!r}")
    return [p for p in netG.parameters() if id(p) not in frozen]
"""

ANSWERS = {
    "student_a": {
        "multiscale_D": [A_MULTISCALE_INIT, A_MULTISCALE_FORWARD],
        "feature_matching": [A_FEATURE_MATCHING],
        "local_enhancer": [A_LOCAL_INIT, A_LOCAL_FORWARD],
        "schedule": [A_STAGE_AT, A_TRAINED],
    },
    "student_b": {
        "multiscale_D": [B_MULTISCALE_INIT, B_MULTISCALE_FORWARD],
        "feature_matching": [B_FEATURE_MATCHING],
        "local_enhancer": [B_LOCAL_INIT, B_LOCAL_FORWARD],
        "schedule": [B_STAGE_AT, B_TRAINED],
    },
    "student_c": {
        "multiscale_D": [C_MULTISCALE_INIT, C_MULTISCALE_FORWARD],
        "feature_matching": [C_FEATURE_MATCHING],
        "local_enhancer": [C_LOCAL_INIT, C_LOCAL_FORWARD],
        "schedule": [C_STAGE_AT, C_TRAINED],
    },
}

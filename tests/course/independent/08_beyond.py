"""Correct answers to notebook 8 written independently of the reference (see README.md)."""

NOTEBOOK = "solutions/08_beyond/08_beyond.ipynb"

# student_a: explicit, one step per line, long descriptive names.
_A_CYCLE = '''\
    reconstruction_error_A = torch.abs(rec_A - real_A).mean()
    reconstruction_error_B = torch.abs(rec_B - real_B).mean()
    total_cycle_loss = lambda_cyc * (reconstruction_error_A + reconstruction_error_B)
    return total_cycle_loss
'''

_A_IDENTITY = '''\
    identity_error_B = torch.abs(same_B - real_B).mean()
    identity_error_A = torch.abs(same_A - real_A).mean()
    identity_weight = lambda_idt * lambda_cyc
    total_identity_loss = identity_weight * (identity_error_B + identity_error_A)
    return total_identity_loss
'''

_A_STEP = '''\
    # 1. translate: A -> B -> A and B -> A -> B
    fake_B = G_AB(real_A)
    rec_A = G_BA(fake_B)
    fake_A = G_BA(real_B)
    rec_B = G_AB(fake_A)

    # 2. update both generators while the discriminators are frozen
    discriminator_parameters = list(D_A.parameters()) + list(D_B.parameters())
    for parameter in discriminator_parameters:
        parameter.requires_grad_(False)
    optG.zero_grad()
    score_of_fake_B = D_B(fake_B)
    score_of_fake_A = D_A(fake_A)
    g_gan = lsgan(score_of_fake_B, True) + lsgan(score_of_fake_A, True)
    g_cyc = cycle_consistency_loss(real_A, rec_A, real_B, rec_B, lambda_cyc)
    identity_output_A = G_BA(real_A)
    identity_output_B = G_AB(real_B)
    g_idt = identity_loss(real_A, identity_output_A, real_B, identity_output_B,
                          lambda_cyc, lambda_idt)
    total_generator_loss = g_gan + g_cyc + g_idt
    total_generator_loss.backward()
    optG.step()
    for parameter in discriminator_parameters:
        parameter.requires_grad_(True)

    # 3. update both discriminators on real images and the detached fakes of step 1
    optD.zero_grad()
    real_score_A = D_A(real_A)
    fake_score_A = D_A(fake_A.detach())
    d_A = 0.5 * (lsgan(real_score_A, True) + lsgan(fake_score_A, False))
    real_score_B = D_B(real_B)
    fake_score_B = D_B(fake_B.detach())
    d_B = 0.5 * (lsgan(real_score_B, True) + lsgan(fake_score_B, False))
    total_discriminator_loss = d_A + d_B
    total_discriminator_loss.backward()
    optD.step()
'''

_A_POOL = '''\
        if self.size == 0:
            return images
        detached_images = images.detach()
        returned_images = []
        for index in range(detached_images.shape[0]):
            current_image = detached_images[index:index + 1]
            if len(self.images) < self.size:
                self.images.append(current_image)
                returned_images.append(current_image)
            else:
                probability = random.random()
                if probability > 0.5:
                    random_index = random.randint(0, self.size - 1)
                    stored_image = self.images[random_index].clone()
                    self.images[random_index] = current_image
                    returned_images.append(stored_image)
                else:
                    returned_images.append(current_image)
        return torch.cat(returned_images, dim=0)
'''

_A_TEMPORAL = '''\
    if not torch.is_floating_point(frames):
        frames = frames.float()
    number_of_frames, number_of_channels, height, width = frames.shape
    # rows i of frame t+1 for which row i + dy of frame t exists (the same for columns)
    first_row = max(0, -dy)
    last_row = min(height, height - dy)
    first_column = max(0, -dx)
    last_column = min(width, width - dx)
    later_frames = frames[1:, :, first_row:last_row, first_column:last_column]
    earlier_rows = slice(first_row + dy, last_row + dy)
    earlier_columns = slice(first_column + dx, last_column + dx)
    earlier_frames = frames[:-1, :, earlier_rows, earlier_columns]
    absolute_difference = torch.abs(later_frames - earlier_frames)
    mean_per_pair = absolute_difference.reshape(number_of_frames - 1, -1).mean(dim=1)
    return mean_per_pair
'''

_A_SPECTRUM = '''\
    red_channel = images[:, 0]
    green_channel = images[:, 1]
    blue_channel = images[:, 2]
    luma = 0.299 * red_channel + 0.587 * green_channel + 0.114 * blue_channel
    luma = luma - luma.mean(dim=(-2, -1), keepdim=True)
    fourier_transform = torch.fft.fft2(luma)
    power_per_image = torch.abs(fourier_transform) ** 2 / (h * w)
    mean_power = power_per_image.mean(dim=0)
    centred_power = torch.fft.fftshift(mean_power, dim=(-2, -1))
    row_offsets = torch.arange(h, dtype=torch.float64) - h // 2
    column_offsets = torch.arange(w, dtype=torch.float64) - w // 2
    distance = torch.sqrt(row_offsets[:, None] ** 2 + column_offsets[None, :] ** 2)
    ring_of_pixel = torch.round(distance).long().to(centred_power.device)
    number_of_rings = min(h, w) // 2
    ring_values = []
    for radius in range(1, number_of_rings + 1):
        pixels_in_ring = ring_of_pixel == radius
        ring_values.append(centred_power[pixels_in_ring].mean())
    power = torch.stack(ring_values)
    frequencies = torch.arange(1, number_of_rings + 1, dtype=torch.float64) / min(h, w)
    return frequencies, power
'''

# student_b: compact expressions.
_B_CYCLE = '''\
    return lambda_cyc * sum(F.l1_loss(r, x) for r, x in ((rec_A, real_A), (rec_B, real_B)))
'''

_B_IDENTITY = '''\
    w = lambda_cyc * lambda_idt
    return w * F.l1_loss(same_B, real_B) + w * F.l1_loss(same_A, real_A)
'''

_B_STEP = '''\
    fake_B, fake_A = G_AB(real_A), G_BA(real_B)
    rec_A, rec_B = G_BA(fake_B), G_AB(fake_A)
    for d in (D_A, D_B):
        d.requires_grad_(False)
    optG.zero_grad()
    g_gan = lsgan(D_B(fake_B), True) + lsgan(D_A(fake_A), True)
    g_cyc = cycle_consistency_loss(real_A, rec_A, real_B, rec_B, lambda_cyc=lambda_cyc)
    g_idt = identity_loss(real_A, G_BA(real_A), real_B, G_AB(real_B),
                          lambda_cyc=lambda_cyc, lambda_idt=lambda_idt)
    (g_gan + g_cyc + g_idt).backward()
    optG.step()
    for d in (D_A, D_B):
        d.requires_grad_(True)
    optD.zero_grad()
    d_A = (lsgan(D_A(real_A), True) + lsgan(D_A(fake_A.detach()), False)) * 0.5
    d_B = (lsgan(D_B(real_B), True) + lsgan(D_B(fake_B.detach()), False)) * 0.5
    (d_A + d_B).backward()
    optD.step()
'''

_B_POOL = '''\
        if not self.size:
            return images
        out = []
        for img in images.detach().split(1):
            if len(self.images) < self.size:
                self.images.append(img)
            elif random.random() > 0.5:
                k = random.randint(0, self.size - 1)
                self.images[k], img = img, self.images[k].clone()
            out.append(img)
        return torch.cat(out)
'''

_B_TEMPORAL = '''\
    H, W = frames.shape[-2:]
    nxt = frames[1:, :, max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    prv = frames[:-1, :, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)]
    return (nxt - prv).abs().flatten(1).mean(1)
'''

_B_SPECTRUM = '''\
    y = torch.einsum("nchw,c->nhw", images, images.new_tensor([0.299, 0.587, 0.114]))
    y = y - y.mean((1, 2), keepdim=True)
    p = torch.fft.fftshift((torch.fft.fft2(y).abs() ** 2 / (h * w)).mean(0)).flatten()
    gy, gx = torch.meshgrid(torch.arange(h) - h // 2, torch.arange(w) - w // 2, indexing="ij")
    r = torch.hypot(gy.double(), gx.double()).round().long().flatten().to(p.device)
    m = min(h, w) // 2
    sel = r <= m
    tot = p.new_zeros(m + 1).scatter_add_(0, r[sel], p[sel])
    cnt = p.new_zeros(m + 1).scatter_add_(0, r[sel], torch.ones_like(p[sel]))
    return torch.arange(1, m + 1, dtype=torch.float64) / min(h, w), (tot / cnt)[1:]
'''

# student_c: small helper functions, a different order of statements, other torch/numpy ops.
_C_CYCLE = '''\
    l1 = nn.L1Loss()
    forward_cycle = l1(rec_A, real_A)
    backward_cycle = l1(rec_B, real_B)
    return torch.stack((forward_cycle, backward_cycle)).sum() * lambda_cyc
'''

_C_IDENTITY = '''\
    def mean_abs(a, b):
        return (a - b).abs().sum() / a.numel()

    return (mean_abs(same_A, real_A) + mean_abs(same_B, real_B)) * (lambda_cyc * lambda_idt)
'''

_C_STEP = '''\
    def freeze_discriminators(frozen):
        for net in (D_A, D_B):
            for p in net.parameters():
                p.requires_grad = not frozen

    def half_d_loss(D, real, fake):
        return (lsgan(D(real), True) + lsgan(D(fake.detach()), False)) / 2

    fake_B = G_AB(real_A)
    rec_A = G_BA(fake_B)
    fake_A = G_BA(real_B)
    rec_B = G_AB(fake_A)

    freeze_discriminators(True)
    try:
        g_cyc = cycle_consistency_loss(real_A, rec_A, real_B, rec_B, lambda_cyc)
        g_idt = identity_loss(real_A, G_BA(real_A), real_B, G_AB(real_B), lambda_cyc, lambda_idt)
        g_gan = sum(lsgan(D(fake), True) for D, fake in ((D_B, fake_B), (D_A, fake_A)))
        optG.zero_grad()
        torch.stack([g_gan, g_cyc, g_idt]).sum().backward()
        optG.step()
    finally:
        freeze_discriminators(False)

    optD.zero_grad()
    d_A = half_d_loss(D_A, real_A, fake_A)
    d_B = half_d_loss(D_B, real_B, fake_B)
    (d_A + d_B).backward()
    optD.step()
'''

_C_POOL = '''\
        if self.size <= 0:
            return images

        def answer(new):
            if len(self.images) < self.size:
                self.images.append(new)
                return new
            if random.random() <= 0.5:
                return new
            slot = random.randint(0, self.size - 1)
            previous = self.images[slot]
            self.images[slot] = new
            return previous.clone()

        return torch.cat([answer(x.unsqueeze(0)) for x in images.detach().unbind(0)])
'''

_C_TEMPORAL = '''\
    T, C, H, W = frames.shape
    # moved[t, :, i, j] = frames[t, :, i + dy, j + dx] (wrapped around; wrapped pixels are masked)
    moved = torch.roll(frames[:-1], shifts=(-dy, -dx), dims=(2, 3))
    rows = torch.arange(H, device=frames.device) + dy
    cols = torch.arange(W, device=frames.device) + dx
    inside = ((rows >= 0) & (rows < H))[:, None] & ((cols >= 0) & (cols < W))[None, :]
    per_pixel = (frames[1:] - moved).abs().mean(dim=1)
    return per_pixel[:, inside].mean(dim=1)
'''

_C_SPECTRUM = '''\
    def to_luma(rgb):
        coefficients = torch.tensor([0.299, 0.587, 0.114], dtype=rgb.dtype, device=rgb.device)
        return (rgb * coefficients.view(1, 3, 1, 1)).sum(dim=1)

    def centred_mean_power(grey):
        grey = grey - grey.mean(dim=(-2, -1), keepdim=True)
        spectrum = torch.fft.fft2(grey).abs().square().mean(dim=0)
        return torch.fft.fftshift(spectrum, dim=(-2, -1)) / (h * w)

    side = min(h, w)
    half = side // 2
    dist_y = np.arange(h)[:, None] - h // 2
    dist_x = np.arange(w)[None, :] - w // 2
    ring = np.rint(np.sqrt(dist_y ** 2 + dist_x ** 2)).astype(np.int64).ravel()
    values = centred_mean_power(to_luma(images)).cpu().numpy().ravel()
    ring_sum = np.bincount(ring, weights=values)
    ring_count = np.bincount(ring)
    power = ring_sum[1:half + 1] / ring_count[1:half + 1]
    freqs = np.arange(1, half + 1) / side
    return freqs, power
'''

ANSWERS = {
    "student_a": {
        "cycle_losses": [_A_CYCLE, _A_IDENTITY],
        "cyclegan_step": [_A_STEP],
        "image_pool": [_A_POOL],
        "temporal_consistency": [_A_TEMPORAL],
        "radial_spectrum": [_A_SPECTRUM],
    },
    "student_b": {
        "cycle_losses": [_B_CYCLE, _B_IDENTITY],
        "cyclegan_step": [_B_STEP],
        "image_pool": [_B_POOL],
        "temporal_consistency": [_B_TEMPORAL],
        "radial_spectrum": [_B_SPECTRUM],
    },
    "student_c": {
        "cycle_losses": [_C_CYCLE, _C_IDENTITY],
        "cyclegan_step": [_C_STEP],
        "image_pool": [_C_POOL],
        "temporal_consistency": [_C_TEMPORAL],
        "radial_spectrum": [_C_SPECTRUM],
    },
}

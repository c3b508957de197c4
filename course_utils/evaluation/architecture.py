"""Architecture figures drawn from the networks themselves, not copied from papers.

:func:`trace` runs a network once and records, for every convolution, transposed
convolution, pooling and upsampling layer in the order they run, the layer's
kind, its output shape and its **receptive field**: the side of the square of
input pixels that the centre unit of its output depends on. :func:`draw` plots
the layers as a U (or a straight line) with those three facts on each.

How the receptive field is measured. The gradient of one output unit with
respect to the input is non-zero exactly on the pixels it depends on, *unless*
the network cancels it (a ReLU that is off, a max-pooling that picks another
pixel, negative weights that sum to 0). :func:`trace` therefore measures it on a
*linearised copy*: activations, normalisation and dropout removed, max-pooling
replaced by average pooling of the same size and stride, every weight set
positive and every bias to 0, an input of ones. The dependence pattern is that of
the real network; the gradient of the copy is positive wherever the real
network's may be non-zero. This is the receptive field in the sense of Araujo,
Norris and Sim, *Computing Receptive Fields of Convolutional Neural Networks*,
Distill 2019, measured instead of derived, so it also works through skip
connections, crops and transposed convolutions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

TRACED = (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d, nn.Upsample)
_REMOVED = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Dropout, nn.BatchNorm2d,
            nn.InstanceNorm2d)


@dataclass(frozen=True)
class Layer:
    """One traced layer.

    Attributes:
        name: its qualified name in the network (``model.submodule.down.0``).
        kind: e.g. ``"conv 4x4 /2"``, ``"convT 4x4 x2"``, ``"maxpool 2x2 /2"``, ``"upsample x2"``.
        shape: its output's shape ``(C, H, W)`` for the traced input.
        rf: receptive field side, in input pixels, of the centre unit of its output.
        whole: True when that field reaches every border of the input (``rf`` is then the input
            side).
        clipped: True when the field reaches a border of the input, so that the input's size, not
            the network, limits it (``rf`` is then a lower bound; trace a larger input to see more).
        level: how many times the resolution has been halved so far, counted from the layers:
            +1 per strided convolution or pooling, -1 per transposed convolution or upsampling.
    """

    name: str
    kind: str
    shape: tuple
    rf: int
    whole: bool
    clipped: bool
    level: int


def _kind(m: nn.Module) -> str:
    def pair(v):
        return v if isinstance(v, tuple) else (v, v)

    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        k, s = pair(m.kernel_size), pair(m.stride)
        name = "convT" if isinstance(m, nn.ConvTranspose2d) else "conv"
        step = "" if s[0] == 1 else (f" x{s[0]}" if name == "convT" else f" /{s[0]}")
        return f"{name} {k[0]}x{k[1]}{step}"
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s = pair(m.kernel_size), pair(m.stride or m.kernel_size)
        return f"{'maxpool' if isinstance(m, nn.MaxPool2d) else 'avgpool'} {k[0]}x{k[1]} /{s[0]}"
    factor = m.scale_factor if m.scale_factor is not None else "?"
    return f"upsample x{factor:g}" if isinstance(factor, float) else f"upsample x{factor}"


def _linearised(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose gradient is positive wherever ``net``'s may be non-zero (see the
    module doc)."""
    lin = copy.deepcopy(net).float().cpu().eval()
    for parent in list(lin.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, _REMOVED):
                setattr(parent, child_name, nn.Identity())
            elif isinstance(child, nn.MaxPool2d):
                setattr(parent, child_name,
                        nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
    with torch.no_grad():
        for m in lin.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
    return lin


def trace(net: nn.Module, *input_shapes: tuple, rf_net: nn.Module | None = None) -> list[Layer]:
    """The layers of ``net`` in the order they run, with output shapes and receptive fields.

    Args:
        net: the network; it may live on the ``"meta"`` device (shapes only, no data), which makes a
            54-million-parameter generator free to trace.
        input_shapes: one ``(N, C, H, W)`` shape per argument of ``net.forward`` (two for a
            conditional PatchGAN: the condition and the image).
        rf_net: the network on which receptive fields are measured, with real (not meta) weights;
            default ``net``. Widths do not change receptive fields, so a narrow copy of the same
            architecture (e.g. ``ngf=1``) makes the measurement cheap. Its traced layers must have
            the same names as ``net``'s.

    Returns:
        A :class:`Layer` per traced layer (convolutions, transposed convolutions, poolings,
        upsamplings).
    """
    rf_net = net if rf_net is None else rf_net
    device = next(iter(net.parameters())).device
    shapes, names = {}, []

    def record(name):
        def hook(module, inputs, out):  # returns None: the output is left as it is
            shapes[name] = tuple(out.shape[1:])
            names.append(name)
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in net.named_modules()
             if isinstance(m, TRACED)]
    try:
        with torch.no_grad():
            was_training = net.training
            net.eval()
            net(*(torch.empty(s, device=device) if device.type == "meta"
                  else torch.zeros(s, device=device) for s in input_shapes))
            net.train(was_training)
    finally:
        for h in hooks:
            h.remove()
    kinds = {name: _kind(m) for name, m in net.named_modules() if isinstance(m, TRACED)}

    # One forward and one backward pass for all the layers: sample k of a batch of len(names) inputs
    # carries the gradient of layer k's centre unit (the linearised copy has no batch statistics).
    lin = _linearised(rf_net)
    outputs = {}
    lin_modules = dict(lin.named_modules())

    def keep(name):
        def hook(module, inputs, out):
            outputs.setdefault(name, out)
        return hook

    hooks = [lin_modules[name].register_forward_hook(keep(name)) for name in dict.fromkeys(names)]
    inputs = [torch.ones((len(names), *s[1:]), requires_grad=True) for s in input_shapes]
    try:
        lin(*inputs)
    finally:
        for h in hooks:
            h.remove()
    total = sum(outputs[name][k, :, outputs[name].shape[-2] // 2,
                              outputs[name].shape[-1] // 2].sum()
                for k, name in enumerate(names))
    grads = torch.autograd.grad(total, inputs, allow_unused=True)

    layers, level = [], 0
    modules = dict(net.named_modules())
    for k, name in enumerate(names):
        m = modules[name]
        stride = m.stride if isinstance(
            m, (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d)) else 1
        stride = stride[0] if isinstance(stride, tuple) else (stride or 1)
        if isinstance(m, nn.Upsample) or (isinstance(m, nn.ConvTranspose2d) and stride > 1):
            level -= 1
        elif stride > 1:
            level += 1
        mask = sum(g[k].abs().sum(0) for g in grads if g is not None) > 0
        rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
        rf = int(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1))
        last_row, last_col = mask.shape[0] - 1, mask.shape[1] - 1
        edges = (rows[0] == 0, cols[0] == 0, rows[-1] == last_row, cols[-1] == last_col)
        layers.append(Layer(name, kinds[name], shapes[name], rf, all(edges), any(edges), level))
    return layers


def draw(layers: list[Layer], title: str, ax=None, input_shape: tuple | None = None,
         skips: bool = True):
    """Plot ``layers`` left to right at the height of their resolution level, labelled with kind,
    shape, field.

    Args:
        layers: from :func:`trace`.
        title: the figure's title.
        ax: a matplotlib axis (default: a new figure).
        input_shape: ``(C, H, W)`` of the input, drawn as the first box.
        skips: draw a skip connection from the last layer of each level on the way down to the first
            layer back at that level on the way up (the U-Nets' concatenations).

    Returns:
        The axis.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 0.42 * (len(layers) + 1)), 4.6))
    points = [("input", "", tuple(input_shape), 1, False, False, 0)] if input_shape else []
    points += [(ly.name, ly.kind, ly.shape, ly.rf, ly.whole, ly.clipped, ly.level) for ly in layers]
    xs = list(range(len(points)))
    ys = [-p[-1] for p in points]
    deepest = max(range(len(points)), key=lambda i: points[i][-1])
    ax.plot(xs, ys, color="0.75", lw=1, zorder=1)
    colours = {"conv": "tab:blue", "convT": "tab:orange", "maxpool": "tab:green",
               "avgpool": "tab:green", "upsample": "tab:purple"}
    for x, (_name, kind, shape, rf, whole, clipped, level) in zip(xs, points, strict=False):
        ax.scatter([x], [-level], s=30 + 6 * shape[0] ** 0.5,
                   color=colours.get(kind.split(" ")[0], "0.4"), zorder=3, edgecolor="k", lw=0.5)
        field = "RF all" if whole else (f"RF >= {rf}" if clipped else f"RF {rf}")
        label = f"{kind}  {shape[0]}x{shape[1]}x{shape[2]}  {field}" if kind else \
            f"input  {shape[0]}x{shape[1]}x{shape[2]}"
        ax.annotate(label, (x, -level), textcoords="offset points", xytext=(0, 7), ha="center",
                    va="bottom", rotation=90, fontsize=6.5, zorder=4,
                    bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))
    if skips and len(points) > 2:
        down = {}
        for i in range(deepest):
            if points[i][0] != "input":  # the input itself is not a layer: no skip from it
                down[points[i][-1]] = i  # the last layer at each level on the way down
        for lvl, i in down.items():
            up = [j for j in range(deepest + 1, len(points)) if points[j][-1] == lvl]
            if up and lvl < points[deepest][-1]:
                ax.annotate("", xy=(up[0], -lvl), xytext=(i, -lvl),
                            arrowprops=dict(arrowstyle="->", color="tab:red", lw=0.8, ls="--",
                                            connectionstyle="arc3,rad=0.12"))
    ax.set_yticks(sorted(set(ys)))
    ax.set_yticklabels([f"1/{2 ** -y}" if y else "1" for y in sorted(set(ys))], fontsize=8)
    ax.set_ylabel("resolution (of the input's)")
    ax.set_xticks([])
    ax.set_ylim(min(ys) - 0.5, max(ys) + 2.6)
    ax.set_xlim(-0.7, len(points) - 0.3)
    # The title goes below the axes: the rotated layer labels above the top row reach past the axes,
    # where a title would collide with them.
    ax.set_xlabel(title, fontsize=10)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return ax

"""Video from still tiles, and temporal consistency measured exactly (the problem of vid2vid).

A "flyover" is a window that slides over one large image by a fixed step
``(dy, dx)`` pixels per frame: frame ``t`` is ``image[..., y0 + t*dy : y0 + t*dy + size,
x0 + t*dx : x0 + t*dx + size]``. Since the motion is known exactly, pixel
``(i, j)`` of frame ``t + 1`` shows the same ground as pixel ``(i + dy, j + dx)``
of frame ``t``. A generator that translates each frame on its own should give
the same output there; any difference is **flicker** (Wang et al., "Video-to-Video
Synthesis", NeurIPS 2018, motivate their sequential generator and temporal
losses with it; there the motion comes from optical flow, here it is exact).

- :func:`flyover_frames`: the frames of a flyover, ``(T, C, size, size)``;
- :func:`temporal_consistency`: the mean absolute difference of consecutive
  outputs on their overlap, one value per pair of frames (the graded metric of notebook 8);
- :func:`shift_consistency_loss`: the same difference as a training term on two
  overlapping crops (the remedy measured in notebook 8).
"""

from __future__ import annotations

import torch

from course_utils.errors import CourseError


def _check_step(step, size_h: int, size_w: int) -> tuple[int, int]:
    try:
        dy, dx = (int(s) for s in step)
    except (TypeError, ValueError):
        raise CourseError(f"step must be a pair of integers (dy, dx) in pixels per frame, "
                          f"got {step!r}") from None
    if abs(dy) >= size_h or abs(dx) >= size_w:
        raise CourseError(f"step {(dy, dx)} leaves no overlap between consecutive "
                          f"{size_h}x{size_w} frames; use |dy| < {size_h} and |dx| < {size_w}")
    return dy, dx


def flyover_frames(image: torch.Tensor, size: int, step=(2, 3), n_frames: int = 32,
                   origin=(0, 0)) -> torch.Tensor:
    """The frames of a window of ``size x size`` pixels sliding over ``image`` by ``step`` pixels
    per frame.

    Args:
        image: ``(C, H, W)`` (any value range).
        size: the window's side in pixels.
        step: ``(dy, dx)``, pixels per frame (either may be negative or 0).
        n_frames: ``T``.
        origin: ``(y0, x0)`` of frame 0's top-left corner.

    Returns:
        ``(T, C, size, size)``: frame ``t`` is the window at ``(y0 + t*dy, x0 + t*dx)`` (a copy).

    Raises:
        CourseError: if a frame would leave the image, naming the largest ``n_frames`` that fits.
    """
    if image.dim() != 3:
        raise CourseError(
            f"flyover_frames: expected one (C, H, W) image, got shape {tuple(image.shape)}"
        )
    _, h, w = image.shape
    dy, dx = _check_step(step, size, size)
    y0, x0 = (int(v) for v in origin)
    ys = [y0 + t * dy for t in range(n_frames)]
    xs = [x0 + t * dx for t in range(n_frames)]
    if min(ys) < 0 or min(xs) < 0 or max(ys) + size > h or max(xs) + size > w:
        fit = max((n for n in range(1, n_frames + 1)
                   if 0 <= y0 + (n - 1) * dy and y0 + (n - 1) * dy + size <= h
                   and 0 <= x0 + (n - 1) * dx and x0 + (n - 1) * dx + size <= w), default=0)
        raise CourseError(f"flyover_frames: {n_frames} frames of {size} px stepping {(dy, dx)} "
                          f"from {(y0, x0)} leave the {h}x{w} image; at most {fit} fit (fewer "
                          f"frames, a smaller step or window)")
    return torch.stack([image[:, y : y + size, x : x + size]
                        for y, x in zip(ys, xs, strict=False)]).clone()


def _overlaps(prev: torch.Tensor, nxt: torch.Tensor, dy: int,
              dx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The regions of ``prev`` and ``nxt`` (``(..., H, W)``) that show the same ground when ``nxt``
    is ``prev`` moved by ``(dy, dx)``."""
    h, w = prev.shape[-2:]
    py = slice(dy, h) if dy >= 0 else slice(0, h + dy)
    ny = slice(0, h - dy) if dy >= 0 else slice(-dy, h)
    px = slice(dx, w) if dx >= 0 else slice(0, w + dx)
    nx = slice(0, w - dx) if dx >= 0 else slice(-dx, w)
    return prev[..., py, px], nxt[..., ny, nx]


def temporal_consistency(frames: torch.Tensor, step) -> torch.Tensor:
    """Flicker of a translated flyover: for each pair of consecutive frames, the mean
    ``|out_{t+1} - out_t|`` on the overlap.

    Frame ``t + 1``'s window is frame ``t``'s moved by ``step = (dy, dx)``, so
    ``out_{t+1}[:, i, j]`` and ``out_t[:, i + dy, j + dx]`` show the same ground;
    the overlap is the ``(H - |dy|) x (W - |dx|)`` region where both exist.

    Args:
        frames: ``(T, C, H, W)`` outputs (``T >= 2``), in any units (the result is in the same
            units; for ``[-1, 1]`` images multiply by 127.5 for grey levels).
        step: ``(dy, dx)`` in pixels per frame.

    Returns:
        ``(T - 1,)`` float tensor; 0 for a perfectly consistent video (e.g. the input frames
        themselves).

    Raises:
        CourseError: for fewer than two frames, a bad shape, or a step with no overlap.
    """
    if not torch.is_tensor(frames) or frames.dim() != 4 or frames.shape[0] < 2:
        raise CourseError(
            f"temporal_consistency: expected frames of shape (T, C, H, W) with T >= 2, got "
            f"{tuple(frames.shape) if torch.is_tensor(frames) else type(frames).__name__}"
        )
    dy, dx = _check_step(step, frames.shape[-2], frames.shape[-1])
    prev, nxt = _overlaps(frames[:-1].float(), frames[1:].float(), dy, dx)
    return (nxt - prev).abs().mean(dim=(1, 2, 3))


def shift_consistency_loss(out_a: torch.Tensor, out_b: torch.Tensor, shift) -> torch.Tensor:
    """A temporal training term: mean ``|out_b - out_a|`` on the overlap of two crops
    ``shift = (dy, dx)`` apart.

    ``out_a = G(crop at (y, x))`` and ``out_b = G(crop at (y + dy, x + dx))``, both
    ``(N, C, H, W)``; like vid2vid's temporal losses it asks the generator to give the
    same output for the same ground seen from a moved window. Both branches get
    gradients. Returns a scalar.
    """
    dy, dx = _check_step(shift, out_a.shape[-2], out_a.shape[-1])
    a, b = _overlaps(out_a.float(), out_b.float(), dy, dx)
    return (b - a).abs().mean()


__all__ = ["flyover_frames", "shift_consistency_loss", "temporal_consistency"]

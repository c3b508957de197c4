"""Flyovers and the exact temporal-consistency metric (course_utils.evaluation.video)."""

from __future__ import annotations

import pytest
import torch

from course_utils.errors import CourseError
from course_utils.evaluation.video import (
    flyover_frames,
    shift_consistency_loss,
    temporal_consistency,
)


def test_flyover_frames_are_windows_of_the_image():
    img = torch.arange(3 * 20 * 30, dtype=torch.float).view(3, 20, 30)
    fr = flyover_frames(img, 8, step=(2, 3), n_frames=4, origin=(1, 0))
    assert fr.shape == (4, 3, 8, 8)
    assert torch.equal(fr[2], img[:, 5:13, 6:14])
    fr[0].zero_()
    assert img.abs().sum() > 0 and img[0, 1, 0] == 30  # a copy, not a view
    with pytest.raises(CourseError, match="at most 3 fit"):
        flyover_frames(img, 8, step=(5, 0), n_frames=4)
    with pytest.raises(CourseError, match="no overlap"):
        flyover_frames(img, 8, step=(8, 0), n_frames=2)
    with pytest.raises(CourseError, match=r"\(C, H, W\)"):
        flyover_frames(img[None], 8)


@pytest.mark.parametrize("step", [(2, 3), (0, 4), (-3, 2), (1, -2), (-2, -1), (0, 0)])
def test_exact_motion_is_perfectly_consistent_and_noise_is_not(step):
    g = torch.Generator().manual_seed(0)
    img = torch.rand(3, 40, 40, generator=g)
    origin = (20 if step[0] < 0 else 0, 20 if step[1] < 0 else 0)
    fr = flyover_frames(img, 12, step=step, n_frames=5, origin=origin)
    tc = temporal_consistency(fr, step)
    assert tc.shape == (4,) and tc.abs().max() < 1e-7
    # a constant offset on one frame is measured exactly on both of its pairs
    fr[2] += 0.5
    tc = temporal_consistency(fr, step)
    assert torch.allclose(tc, torch.tensor([0, 0.5, 0.5, 0]))
    if step != (0, 0):  # the wrong motion is not consistent
        assert (
            temporal_consistency(
                flyover_frames(img, 12, step=step, n_frames=5, origin=origin), (0, 0)
            ).min()
            > 0.05
        )


def test_overlap_by_hand_and_training_term():
    a = torch.zeros(1, 1, 3, 4)
    b = torch.ones(1, 1, 3, 4)
    b[..., :2, :3] = (
        0  # with step (1, 1), b[i, j] pairs with a[i + 1, j + 1]: the overlap is b[:2, :3]
    )
    assert temporal_consistency(torch.cat([a, b]), (1, 1)).item() == 0
    assert temporal_consistency(torch.cat([a, b]), (0, 0)).item() == pytest.approx(6 / 12)
    out_a = torch.zeros(2, 3, 6, 6, requires_grad=True)
    out_b = torch.ones(2, 3, 6, 6, requires_grad=True)
    loss = shift_consistency_loss(out_a, out_b, (2, 1))
    assert loss.item() == 1.0
    loss.backward()
    assert out_a.grad is not None and out_b.grad is not None
    with pytest.raises(CourseError, match="T >= 2"):
        temporal_consistency(torch.zeros(1, 3, 4, 4), (0, 1))
    with pytest.raises(CourseError, match="pair of integers"):
        temporal_consistency(torch.zeros(2, 3, 4, 4), 3)

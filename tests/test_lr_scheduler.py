"""Learning-rate schedules against their closed forms."""
from __future__ import annotations

import math

import pytest

import ember
from ember import optim
from ember.optim import lr_scheduler as sched


def make_opt(lr=0.1, groups=1):
    params = [ember.ones(2, requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr)


def lrs_over(scheduler, epochs):
    out = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


def test_step_lr():
    s = sched.StepLR(make_opt(), step_size=3, gamma=0.5)
    expected = [0.1 * 0.5 ** (e // 3) for e in range(10)]
    assert lrs_over(s, 9) == pytest.approx(expected)


def test_multi_step_lr_with_repeated_milestone():
    s = sched.MultiStepLR(make_opt(), milestones=[2, 5, 5], gamma=0.1)
    expected = [0.1 * 0.1 ** sum(m <= e for m in (2, 5, 5)) for e in range(8)]
    assert lrs_over(s, 7) == pytest.approx(expected)


def test_exponential_lr():
    s = sched.ExponentialLR(make_opt(), gamma=0.9)
    assert lrs_over(s, 5) == pytest.approx([0.1 * 0.9 ** e for e in range(6)])


def test_cosine_annealing_matches_closed_form():
    T, lo = 10, 0.001
    s = sched.CosineAnnealingLR(make_opt(), T_max=T, eta_min=lo)
    expected = [lo + (0.1 - lo) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(2 * T + 1)]
    assert lrs_over(s, 2 * T) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_lambda_lr_per_group_and_state_dict():
    opt = make_opt(groups=2)
    s = sched.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: 1.0 / (e + 1)])
    for _ in range(3):
        opt.step()
        s.step()
    assert s.get_last_lr() == pytest.approx([0.1 * 0.125, 0.2 / 4])
    sd = s.state_dict()
    assert "lr_lambdas" not in sd and "optimizer" not in sd and sd["last_epoch"] == 3


def test_schedulers_set_the_optimizer_lr_and_resume_from_state_dict():
    opt = make_opt()
    s = sched.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(3):
        opt.step()
        s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    opt2 = make_opt()
    opt2.load_state_dict(opt.state_dict())
    s2 = sched.StepLR(opt2, step_size=2, gamma=0.1, last_epoch=-1)
    s2.load_state_dict(s.state_dict())
    for _ in range(2):
        for o, sc in ((opt, s), (opt2, s2)):
            o.step()
            sc.step()
    assert s.get_last_lr() == pytest.approx([0.001])
    assert s2.get_last_lr() == s.get_last_lr()


def test_two_schedulers_chain():
    opt = make_opt()
    a = sched.ExponentialLR(opt, gamma=0.5)
    b = sched.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(2):
        opt.step()
        a.step()
        b.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 2 * 0.1)


def test_reduce_on_plateau():
    opt = make_opt()
    s = sched.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    seen = []
    for loss in losses:
        s.step(loss)
        seen.append(s.get_last_lr()[0])
    # bad epochs counted after 0.9: cut on the 3rd (epoch 5), then 1 cooldown epoch, 3 more bad
    expected = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025]
    assert seen == pytest.approx(expected)
    for _ in range(10):
        s.step(0.95)
    assert s.get_last_lr()[0] == pytest.approx(0.02)  # floored at min_lr


def test_reduce_on_plateau_max_mode_and_threshold():
    s = sched.ReduceLROnPlateau(make_opt(), mode="max", patience=0, threshold=0.1,
                                threshold_mode="abs")
    s.step(0.5)
    s.step(0.55)  # not better by more than 0.1: bad epoch, patience 0 -> cut
    assert s.get_last_lr()[0] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="mode"):
        sched.ReduceLROnPlateau(make_opt(), mode="lowest")


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="ember.optim.Optimizer"):
        sched.StepLR([1, 2], step_size=1)

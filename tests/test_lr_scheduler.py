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


# ---- warm-up, restarts, 1cycle, sequences (values from the formulas in PyTorch's docs) -------
def test_linear_lr_warms_up_linearly_then_holds():
    s = sched.LinearLR(make_opt(), start_factor=0.25, end_factor=1.0, total_iters=4)
    expected = [0.1 * (0.25 + 0.75 * min(e, 4) / 4) for e in range(8)]
    assert lrs_over(s, 7) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(make_opt(), start_factor=0.0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        sched.LinearLR(make_opt(), end_factor=1.5)


def sgdr(epoch_lrs, T_0, T_mult, lo, base=0.1):
    """SGDR by hand: walk the restarts, T_i growing by T_mult each time."""
    out, T_i, t = [], T_0, 0
    for _ in epoch_lrs:
        out.append(lo + (base - lo) * (1 + math.cos(math.pi * t / T_i)) / 2)
        t += 1
        if t >= T_i:
            t, T_i = t - T_i, T_i * T_mult
    return out


@pytest.mark.parametrize("T_0, T_mult, lo", [(3, 1, 0.0), (2, 2, 0.01)])
def test_cosine_annealing_warm_restarts(T_0, T_mult, lo):
    s = sched.CosineAnnealingWarmRestarts(make_opt(), T_0=T_0, T_mult=T_mult, eta_min=lo)
    got = lrs_over(s, 15)
    assert got == pytest.approx(sgdr(range(16), T_0, T_mult, lo), rel=1e-12, abs=1e-15)
    assert got[T_0] == pytest.approx(0.1)  # the warm restart


def test_cosine_annealing_warm_restarts_fractional_epochs_and_errors():
    s = sched.CosineAnnealingWarmRestarts(make_opt(), T_0=2, T_mult=2)
    s.step(4.5)  # restarts at 2 and 6: 2.5 epochs into a cycle of 4
    assert s.get_last_lr()[0] == pytest.approx(0.05 * (1 + math.cos(math.pi * 2.5 / 4)))
    assert s.last_epoch == 4
    with pytest.raises(ValueError, match="T_0"):
        sched.CosineAnnealingWarmRestarts(make_opt(), T_0=0)
    with pytest.raises(ValueError, match="non-negative epoch"):
        s.step(-1)


def test_one_cycle_lr_two_phases_with_momentum():
    opt = optim.SGD([ember.ones(2, requires_grad=True)], lr=0.1, momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    lrs, moms = [s.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(9):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])

    def cos(a, b, pct):
        return b + (a - b) * (1 + math.cos(math.pi * pct)) / 2
    lo, hi, end = 1.0 / 25, 1.0, 1.0 / 25 / 1e4
    up = 0.3 * 10 - 1  # the step where lr peaks
    exp_lr = [cos(lo, hi, t / up) if t <= up else cos(hi, end, (t - up) / (9 - up)) for t in range(10)]
    exp_m = [cos(0.95, 0.85, t / up) if t <= up else cos(0.85, 0.95, (t - up) / (9 - up)) for t in range(10)]
    assert lrs == pytest.approx(exp_lr, rel=1e-12)
    assert moms == pytest.approx(exp_m, rel=1e-12)
    assert max(lrs) == pytest.approx(hi) and lrs[-1] == pytest.approx(end)
    opt.step()
    s.step()  # step 10 = total_steps is still allowed; one more is not
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        s.step()


def test_one_cycle_lr_three_phases_linear_adam_betas_and_errors():
    opt = optim.Adam([ember.ones(2, requires_grad=True)], lr=0.1, betas=(0.9, 0.99))
    s = sched.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=5, three_phase=True,
                         anneal_strategy="linear", pct_start=0.4)
    lo, hi, end = 0.5 / 25, 0.5, 0.5 / 25 / 1e4
    ends = [0.4 * 10 - 1, 2 * 0.4 * 10 - 2, 9]
    points = [(0, lo), (ends[0], hi), (ends[1], lo), (ends[2], end)]

    def lin(t):
        for (t0, a), (t1, b) in zip(points, points[1:]):
            if t <= t1 or t1 == 9:
                return a + (b - a) * (t - t0) / (t1 - t0)
    got = lrs_over(s, 9)
    assert got == pytest.approx([lin(t) for t in range(10)], rel=1e-12, abs=1e-15)
    assert opt.param_groups[0]["betas"][1] == 0.99
    with pytest.raises(ValueError, match="total_steps OR"):
        sched.OneCycleLR(make_opt(), max_lr=1.0)
    with pytest.raises(ValueError, match="momentum"):
        sched.OneCycleLR(optim.Adagrad([ember.ones(1, requires_grad=True)]), 1.0, total_steps=3)


def test_sequential_lr_warmup_then_decay_and_state_dict():
    opt = make_opt()
    warm = sched.LinearLR(opt, start_factor=0.1, total_iters=4)
    decay = sched.ExponentialLR(opt, gamma=0.9)
    s = sched.SequentialLR(opt, [warm, decay], milestones=[3])
    got = lrs_over(s, 7)
    expected = [0.1 * (0.1 + 0.9 * e / 4) for e in range(3)] + [0.1 * 0.9 ** e for e in range(5)]
    assert got == pytest.approx(expected, rel=1e-12)
    sd = s.state_dict()
    assert sd["last_epoch"] == 7 and len(sd["_schedulers"]) == 2 and "optimizer" not in sd
    opt2 = make_opt()
    s2 = sched.SequentialLR(opt2, [sched.LinearLR(opt2, 0.1, total_iters=4),
                                   sched.ExponentialLR(opt2, 0.9)], milestones=[3])
    s2.load_state_dict(sd)
    assert s2.last_epoch == 7 and s2._schedulers[1].last_epoch == 4
    assert s2.get_last_lr() == s.get_last_lr()


def test_sequential_lr_errors():
    opt = make_opt()
    a = sched.StepLR(opt, 2)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        sched.SequentialLR(opt, [a], milestones=[2])
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(opt, [a, sched.StepLR(make_opt(), 2)], milestones=[2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        sched.SequentialLR(opt, [a, sched.ReduceLROnPlateau(opt)], milestones=[2])


@pytest.mark.parametrize("make, epoch, factor", [
    (lambda o: sched.StepLR(o, 2, gamma=0.5), 5, 0.5 ** 2),
    (lambda o: sched.MultiStepLR(o, [2, 4, 4], gamma=0.1), 4, 0.1 ** 3),
    (lambda o: sched.ExponentialLR(o, gamma=0.9), 3, 0.9 ** 3),
    (lambda o: sched.CosineAnnealingLR(o, T_max=10), 3, (1 + math.cos(math.pi * 3 / 10)) / 2),
    (lambda o: sched.LinearLR(o, start_factor=0.5, total_iters=4), 2, 0.5 + 0.5 * 2 / 4),
])
def test_step_with_an_epoch_jumps_by_the_closed_form_and_warns(make, epoch, factor):
    s = make(make_opt())
    s.optimizer.step()
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
        s.step(epoch)
    assert s.last_epoch == epoch and s.get_last_lr()[0] == pytest.approx(0.1 * factor, rel=1e-12)


def test_constant_polynomial_and_multiplicative_lr():
    s = sched.ConstantLR(make_opt(), factor=0.5, total_iters=3)
    assert lrs_over(s, 5) == pytest.approx([0.05, 0.05, 0.05, 0.1, 0.1, 0.1], rel=1e-12)
    s = sched.PolynomialLR(make_opt(), total_iters=4, power=2.0)
    expected = [0.1 * (1 - min(e, 4) / 4) ** 2 for e in range(7)]
    assert lrs_over(s, 6) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    s = sched.MultiplicativeLR(make_opt(), lambda e: 0.5 if e % 2 else 0.9)
    expected = [0.1]
    for e in range(1, 6):
        expected.append(expected[-1] * (0.5 if e % 2 else 0.9))
    assert lrs_over(s, 5) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="between 0 and 1"):
        sched.ConstantLR(make_opt(), factor=2.0)
    with pytest.raises(TypeError, match="lr_lambda should be a function"):
        sched.MultiplicativeLR(make_opt(), 0.9)


def test_chained_scheduler_multiplies_and_sequential_restarts_each_part():
    opt = make_opt()
    s = sched.ChainedScheduler([sched.ConstantLR(opt, 0.1, total_iters=2),
                                sched.ExponentialLR(opt, gamma=0.9)])
    expected = [0.1 * (0.1 if e < 2 else 1.0) * 0.9 ** e for e in range(6)]
    assert lrs_over(s, 5) == pytest.approx(expected, rel=1e-12)
    assert len(s.state_dict()["_schedulers"]) == 2
    opt = make_opt()
    s = sched.SequentialLR(opt, [sched.ConstantLR(opt, 0.1, total_iters=2),
                                 sched.PolynomialLR(opt, total_iters=5, power=0.5)], [3])
    expected = [0.01, 0.01, 0.1] + [0.1 * (1 - e / 5) ** 0.5 for e in range(6)]
    assert lrs_over(s, 8) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def triangle(t, up, down):
    """Position in the cycle as a fraction of the way from base to max."""
    t %= up + down
    return t / up if t <= up else 1 - (t - up) / down


def test_cyclic_lr_triangular_modes_and_momentum():
    opt = optim.SGD([ember.ones(2, requires_grad=True)], lr=1.0, momentum=0.5)
    s = sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=3)
    lrs, moms = [s.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(11):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    assert lrs == pytest.approx([0.01 + 0.09 * triangle(t, 2, 3) for t in range(12)], rel=1e-12)
    assert moms == pytest.approx([0.9 - 0.1 * triangle(t, 2, 3) for t in range(12)], rel=1e-12)
    s = sched.CyclicLR(make_opt(), 0.01, 0.1, step_size_up=2, mode="triangular2")
    expected = [0.01 + 0.09 * triangle(t, 2, 2) / 2 ** (t // 4) for t in range(12)]
    assert lrs_over(s, 11) == pytest.approx(expected, rel=1e-12)
    adam = optim.Adam([ember.ones(2, requires_grad=True)], lr=1.0)
    s = sched.CyclicLR(adam, 0.01, 0.1, step_size_up=2, mode="exp_range", gamma=0.9)
    expected = [0.01 + 0.09 * triangle(t, 2, 2) * 0.9 ** t for t in range(9)]
    assert lrs_over(s, 8) == pytest.approx(expected, rel=1e-12)
    assert adam.param_groups[0]["betas"] == (pytest.approx(0.9), 0.999)  # t = 8 starts a cycle
    with pytest.raises(ValueError, match="mode is invalid.*mode 'zigzag' is not 'triangular', "
                                         "'triangular2' or 'exp_range'"):
        sched.CyclicLR(make_opt(), 0.01, 0.1, mode="zigzag")

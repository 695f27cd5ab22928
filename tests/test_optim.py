"""The shared learning-scheme components of skebm._optim, each tested once."""

import numpy as np

from skebm._optim import (
    EarlyStopping,
    IterateAverage,
    decayed_rate,
    fold_into_mean_,
    resume_from_live_,
    scheduled_momentum,
    sgd_step_,
)


def test_sgd_step_matches_its_formula():
    rng = np.random.default_rng(0)
    p = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    g = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    u = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    lr, mom, wd = 0.1, 0.9, 0.01
    # decay on the first parameter only, taken at p before the step
    want_u = [mom * u[0] + lr * (g[0] - wd * p[0]), mom * u[1] + lr * g[1]]
    want_p = [p[0] + want_u[0], p[1] + want_u[1]]
    sgd_step_(
        p,
        [x.copy() for x in g],
        lr,
        velocities=u,
        momentum=mom,
        weight_decay=wd,
        decayed=[True, False],
    )
    for a, b in zip(p + u, want_p + want_u, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_sgd_step_without_momentum_is_plain_ascent():
    p = [np.array([1.0, 2.0])]
    sgd_step_(p, [np.array([0.5, -1.0])], 0.2, weight_decay=0.5)
    np.testing.assert_allclose(p[0], [1.0 + 0.2 * (0.5 - 0.5), 2.0 + 0.2 * (-1 - 1)])


def test_iterate_average_is_the_mean_after_start():
    rng = np.random.default_rng(1)
    iterates = [rng.normal(size=4).astype(np.float32) for _ in range(7)]
    avg = IterateAverage(start=30)
    for x in iterates:
        avg.update([x], 10)  # 10 samples per update: averaging from the 3rd
    assert avg.count == 5 and avg.mean[0].dtype == np.float64
    np.testing.assert_allclose(avg.mean[0], np.mean(iterates[2:], axis=0), rtol=1e-6)


def test_fold_into_mean_is_the_running_mean_with_or_without_scratch():
    rng = np.random.default_rng(0)
    iterates = rng.normal(size=(7, 3, 4)).astype(np.float32)
    mean = iterates[0].astype(np.float64)
    other = mean.copy()
    scratch = np.empty_like(mean)
    for count, p in enumerate(iterates[1:], start=2):
        fold_into_mean_(mean, p, count, scratch)
        fold_into_mean_(other, p, count)
    np.testing.assert_allclose(
        mean, iterates.astype(np.float64).mean(axis=0), rtol=1e-12
    )
    np.testing.assert_array_equal(mean, other)


def test_early_stopping_keeps_the_best_and_stops_after_patience():
    # a scripted run of scores: best at epoch 2 (a later +tol/2 gain does not
    # count as an improvement), patience 2 runs out at epoch 4
    class Est:
        tol, n_iter_no_change = 0.1, 2

    est, w = Est(), np.zeros(3)
    scores = iter([1.0, 2.0, 2.05, 1.5, 9.0])
    stopper = EarlyStopping(est, lambda: next(scores), lambda: [w])
    stops = []
    for epoch in range(1, 5):
        w[...] = epoch  # the parameters this epoch ends with
        extra, stop = stopper.end_epoch({}, 0.0)
        stops.append(stop)
        assert extra == {"validation_score": est.validation_scores_[-1]}
    assert stops == [False, False, False, True]
    assert est.validation_scores_ == [1.0, 2.0, 2.05, 1.5]
    stopper.restore_best()
    np.testing.assert_array_equal(w, 2.0)  # written back in place
    assert est.best_validation_score_ == 2.0


def test_publish_then_resume_round_trips_and_refuses_changed_parameters():
    w = np.arange(6.0).reshape(2, 3).astype(np.float32)
    avg = IterateAverage()
    avg.update([w], 1)
    w += 1.0
    avg.update([w], 1)  # mean: w - 0.5
    last = w.copy()
    live = avg.publish([w])
    np.testing.assert_array_equal(w, last - 0.5)  # the average is shown
    np.testing.assert_array_equal(live[0], last)
    assert resume_from_live_([w], live, avg.mean)
    np.testing.assert_array_equal(w, last)  # training goes on from the iterate
    avg.publish([w])
    w[0, 0] = 42.0  # the user set other parameters since
    assert not resume_from_live_([w], live, avg.mean)
    assert w[0, 0] == 42.0
    assert not resume_from_live_([w], live, None)
    assert IterateAverage().publish([w]) is None


def test_decayed_rate_and_momentum_switch():
    assert decayed_rate(0.1, 1.01, 0, 0.0) == 0.1
    assert decayed_rate(0.1, 1.01, 10, 0.0) == 0.1 / 1.01**10
    assert decayed_rate(0.1, 1.01, 10**4, 1e-3) == 1e-3  # the floor holds
    assert [scheduled_momentum(0.5, 0.9, 2, e) for e in (1, 2, 3)] == [0.5, 0.5, 0.9]
    assert scheduled_momentum(0.5, None, 2, 9) == 0.5  # no switch set

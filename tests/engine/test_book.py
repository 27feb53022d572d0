"""Every statement of the seed text 000 (NND ch. 12, 'Drawbacks of Backpropagation')."""

import numpy as np
import pytest

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.trainer import StopCriteria, Trainer


@pytest.fixture
def obj(book):
    return Objective(book.spec, book.data, book.theta, ["W1[1,1]", "W2[1,1]"])


def run(obj, start, name="sd", **kw):
    hyper = kw.pop("hyper", {})
    with np.errstate(all="ignore"):
        return list(
            Trainer(obj, make_optimizer(name, **hyper), list(start), StopCriteria(**kw)).run()
        )


def test_problem_is_the_seed_equation_1(book):
    assert book.data.n_samples == 41
    np.testing.assert_allclose(book.data.P[0], np.linspace(-2, 2, 41), atol=1e-15)
    np.testing.assert_array_equal(book.theta, [10, 10, -5, 5, 1, 1, -1])
    assert book.spec.transfers == ("logsig", "logsig")


def test_global_minimum_at_10_1_with_zero_error(obj):
    f, g = obj.value_and_grad(np.array([10.0, 1.0]))
    assert f == 0.0 and np.all(g == 0.0)
    assert np.all(np.linalg.eigvalsh(obj.hessian(np.array([10.0, 1.0]))) > 0)


def test_local_minimum_near_0_88_38_6(obj):
    end = run(obj, (0.9, 38.0), "lm", epochs=200)[-1]
    np.testing.assert_allclose(end.x, [0.88, 38.6], atol=0.03)
    assert end.grad_norm < 1e-6 and end.sse > 0.09  # a minimum that is not the global one
    assert np.all(np.linalg.eigvalsh(obj.hessian(end.x)) > 0)


def test_saddle_point_at_the_origin_of_the_bias_surface(book):
    objb = Objective(book.spec, book.data, book.theta, ["b1[1]", "b1[2]"])
    f, g = objb.value_and_grad(np.zeros(2))
    assert np.linalg.norm(g) < 1e-12
    eig = np.linalg.eigvalsh(objb.hessian(np.zeros(2)))
    assert eig.min() < 0 < eig.max()
    assert f > objb.value(np.array([-5.0, 5.0]))  # the two minima are lower


@pytest.mark.slow  # ~9 s (the book's 324,000 epochs on NumPy): make test-slow, CI
def test_trajectory_a_crawls_for_more_than_300000_epochs(obj):
    recs = run(obj, (-4, -4), "sd", hyper={"lr": 1.0}, epochs=10**6)
    end = recs[-1]
    assert end.stop == "no_change" and end.epoch > 300_000
    np.testing.assert_allclose(end.x, [10.0, 1.0], atol=1e-9)
    sse = np.array([r.sse for r in recs])
    assert np.all(np.diff(sse[:300_000]) <= 1e-15)  # lr = 1 is stable: the error never rises
    flat = sse[:40_000]
    assert flat.min() > 0.77  # a long flat region: 40,000 epochs barely lower the error
    assert sse[100_000] < 1e-6


def test_trajectory_b_ends_in_the_local_minimum(obj):
    recs = run(obj, (-4, 10), "sd", hyper={"lr": 1.0}, epochs=60_000)
    end = recs[-1]
    assert end.sse > 0.0934  # never reaches the global minimum's zero error
    assert 0.8 < end.x[0] < 1.6 and end.x[1] > 15  # climbing the W2 valley
    # and the basin it is in is the local minimum's: finish with LM
    fin = run(obj, end.x, "lm", epochs=200)[-1]
    np.testing.assert_allclose(fin.x, [0.883, 38.62], atol=0.01)


def test_learning_rate_100_is_unstable(obj):
    fast = np.array([r.sse for r in run(obj, (-4, -4), "sd", hyper={"lr": 100.0}, epochs=5000)])
    slow = np.array([r.sse for r in run(obj, (-4, -4), "sd", hyper={"lr": 1.0}, epochs=5000)])
    assert np.all(np.diff(slow) <= 0)
    rises = np.sum(np.diff(fast) > 0)
    assert rises > 100  # oscillates
    # and the error stops decreasing: the last 2,000 epochs make no progress at all
    assert fast[-1000:].min() >= fast[-2000:-1000].min() - 1e-12
    assert fast[-1000:].max() > 0.1


def test_faster_methods_beat_steepest_descent(obj):
    # steepest descent needs about 57,000 epochs to SSE 1e-2 from (-4, -4)
    sd = run(obj, (-4, -4), "sd", epochs=20_000)[-1]
    assert sd.sse > 0.5
    for name in ("momentum", "vlbp", "cg"):
        recs = run(obj, (-4, -4), name, epochs=20_000, goal=1e-2)
        assert recs[-1].stop == "goal", name

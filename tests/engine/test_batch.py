import numpy as np
import pytest

from bpgui_engine.model.objective import Objective
from bpgui_engine.optim import make_optimizer
from bpgui_engine.train.batch import train_batch
from bpgui_engine.train.trainer import StopCriteria, Trainer


@pytest.mark.parametrize("method, epochs", [("sd", 150), ("momentum", 150), ("lm", 12)])
def test_batch_matches_single_runs(book, method, epochs):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    X0 = np.random.default_rng(3).uniform(-5, 15, (12, 2))
    X0[0] = [-4.0, -4.0]
    res = train_batch(obj, X0, method, epochs=epochs, goal=1e-10)
    assert res.path.shape[1:] == (12, 2) and res.path_epochs[0] == 0
    np.testing.assert_array_equal(res.path[0], X0)
    for b in range(12):
        recs = list(
            Trainer(
                obj, make_optimizer(method), X0[b], StopCriteria(epochs=epochs, goal=1e-10)
            ).run()
        )
        np.testing.assert_allclose(res.x[b], recs[-1].x, rtol=1e-9, atol=1e-12)
        assert res.epochs[b] == recs[-1].epoch
        assert res.stop[b] == ("mu_max" if recs[-1].stop == "no_step" else recs[-1].stop)


def test_batch_stride_and_bad_input(book):
    obj = Objective(book.spec, book.data, book.theta, book.free)
    res = train_batch(obj, np.zeros((3, 2)), "sd", epochs=25, stride=10)
    assert list(res.path_epochs) == [0, 10, 20, 25]
    with pytest.raises(ValueError, match="method"):
        train_batch(obj, np.zeros((3, 2)), "adam")
    with pytest.raises(ValueError, match=r"shape \(B, 2\)"):
        train_batch(obj, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="lr"):
        train_batch(obj, np.zeros((3, 2)), hyper={"lr": -1})


def _single(obj, method, hyper, x0, epochs, **crit):
    opt = make_optimizer(method, **hyper)
    with np.errstate(all="ignore"):
        return list(Trainer(obj, opt, x0, StopCriteria(epochs=epochs, **crit)).run())[-1]


@pytest.mark.parametrize(
    "method, hyper",
    [("sd", {"lr": 100.0}), ("sd", {"lr": 1e6}), ("momentum", {"lr": 1000.0, "gamma": 0.9})],
)
def test_a_diverging_start_stops_like_its_single_run(method, hyper):
    """The sine preset (purelin output) diverges with a huge learning rate.  The gradient's
    norm overflows one or more epochs before a component does: the single run calls that
    "diverged", so must the batch -- at the same epoch, also when that epoch is the last."""
    from bpgui_engine.model.presets import get_preset

    sine = get_preset("sine-1-2-1")
    obj = Objective(sine.spec, sine.data, sine.theta, list(sine.spec.labels))
    X0 = np.random.default_rng(0).uniform(-5, 15, (12, 7))
    res = train_batch(obj, X0, method, hyper, epochs=2000)
    ends = [_single(obj, method, hyper, X0[b], 2000) for b in range(12)]
    assert [r.stop for r in ends] == ["diverged"] * 12
    assert list(res.stop) == ["diverged"] * 12
    assert [int(e) for e in res.epochs] == [r.epoch for r in ends]
    assert np.all(np.isinf(res.grad_norm))
    # the maximum at the very epoch of divergence: "diverged", not "epochs"
    d = min(r.epoch for r in ends)
    first = [b for b in range(12) if ends[b].epoch == d]
    short = train_batch(obj, X0[first], method, hyper, epochs=d)
    assert list(short.stop) == ["diverged"] * len(first)
    assert _single(obj, method, hyper, X0[first[0]], d).stop == "diverged"


def test_a_saturated_start_stops_on_a_zero_gradient_like_its_single_run(book):
    """A huge step saturates every logsig: the gradient is exactly 0, which the trainer's
    min_grad = 0 criterion stops on at once (the batch used to go on and say no_change)."""
    obj = Objective(book.spec, book.data, book.theta, list(book.spec.labels))
    X0 = np.random.default_rng(0).uniform(-5, 15, (10, 7))
    res = train_batch(obj, X0, "sd", {"lr": 1e6}, epochs=200)
    ends = [_single(obj, "sd", {"lr": 1e6}, X0[b], 200) for b in range(10)]
    assert list(res.stop) == [r.stop for r in ends]
    assert [int(e) for e in res.epochs] == [r.epoch for r in ends]
    assert "min_grad" in res.stop
    np.testing.assert_array_equal(res.grad_norm, [r.grad_norm for r in ends])

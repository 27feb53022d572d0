import numpy as np
import pytest

from engine.batch import train_batch
from engine.objective import Objective
from engine.optim import make_optimizer
from engine.trainer import StopCriteria, Trainer


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

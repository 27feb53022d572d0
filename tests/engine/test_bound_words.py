"""Issue 18 #23: which Hessian's λmax.  The sweep's stability bound "lr < 2/λmax = 71" uses
the Hessian of the per-sample mean SSE/Q (λmax 0.0282 at the book's minimum); the critical
points table shows the SSE Hessian (1.156).  Both are now named so a reader can connect
them.  The reference Hessian here is central differences of the gradient."""

from __future__ import annotations

import numpy as np
import pytest

from bpgui.cli import main
from bpgui_engine.maps.sweep import bound_eigenvalue, stability_bound
from bpgui_engine.model.setup import Setup

BOOK_MIN = np.array([10.0, 1.0])


def test_the_bound_names_the_per_sample_mean_and_the_sse_hessian():
    setup = Setup.from_preset()
    obj = setup.objective()
    lam_fd = float(np.linalg.eigvalsh(obj.hessian_fd(BOOK_MIN)).max())  # the SSE Hessian's
    lam, scale, words = bound_eigenvalue(setup, BOOK_MIN)
    Q = obj.data.n_samples
    assert Q == 41 and scale == pytest.approx(1 / Q)
    assert lam == pytest.approx(lam_fd, rel=1e-5) and lam == pytest.approx(1.156, abs=5e-4)
    assert stability_bound(setup, BOOK_MIN) == pytest.approx(2 * Q / lam_fd, rel=1e-5)  # 71
    assert f"λmax = {lam_fd / Q:.3g} of the Hessian of SSE/Q" in words  # 0.0282
    assert f"the SSE Hessian's {lam:.4g} / Q, Q = 41" in words


def test_a_mean_index_names_its_own_hessian():
    setup = Setup.from_preset().replace(performance="mse")
    lam, scale, words = bound_eigenvalue(setup, BOOK_MIN)
    assert scale == 1.0 and words == f"λmax = {lam:.3g} of the MSE Hessian"


def test_the_sweep_text_and_the_critical_table_say_which_hessian(capsys):
    from bpgui_engine.maps.sweep import sweep
    from bpgui_engine.maps.sweep_bound import bound_curve

    setup = Setup.from_preset().replace(ranges=((-5.0, 15.0), (-5.0, 15.0)))
    r = sweep(setup, "lr", (1.0, 100.0), "gamma", (0.0, 0.5), optimizer="momentum", x0=BOOK_MIN,
              resolution=2, epochs=5)  # fmt: skip
    _, _, text = bound_curve(setup, BOOK_MIN, r)
    assert "2(1+γ)/((1−γ)λmax): 71 at γ = 0" in text
    assert "0.0282 of the Hessian of SSE/Q" in text and "1.156" in text
    assert main(["critical", "--x", "W1[1,1]", "-5", "15", "--y", "W2[1,1]", "-5", "15"]) == 0
    out = capsys.readouterr().out
    assert "eigenvalues of the SSE Hessian" in out and "1.156" in out

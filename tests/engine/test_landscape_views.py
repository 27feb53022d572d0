"""What the window's landscape and spectrum views show (issue 22 #1, #4): progressive
pictures against the full grid, float32 against float64, the PCA and line views, the
spectrum against the exact Hessian, bad input, the memory limit, the job and the session
section."""

import threading

import numpy as np
import pytest

from bpgui_engine import jobs
from bpgui_engine.analysis.landscape import landscape, lattice, progressive, random_directions
from bpgui_engine.analysis.views import compute_landscape, compute_spectrum
from bpgui_engine.memory import MemoryLimitError
from bpgui_engine.model.problem import plane_setup
from bpgui_engine.model.setup import Setup
from bpgui_engine.session import SessionError, read_session_bytes, save_session, session_bytes


def _setup(layers=(4, 3), samples=60):
    return plane_setup(f"moons:samples={samples}", layers=layers, seed=1)


def test_progressive_pictures_are_the_full_grid_on_their_lattices():
    s = _setup()
    obj, x = s.objective(), s.start()
    d1, d2 = random_directions(obj, x, seed=3)
    full = landscape(obj, x, d1, d2, 0.8, 41)
    pics = list(progressive(obj, x, d1, d2, 0.8, 41))
    assert [st for st, _ in pics] == [4, 2, 1]
    for stride, pic in pics:
        idx = lattice(41, stride)
        np.testing.assert_array_equal(pic.values[np.ix_(idx, idx)], full.values[np.ix_(idx, idx)])
        off = np.ones((41, 41), bool)
        off[np.ix_(idx, idx)] = False
        # what is not computed yet is NaN, never a guess (the finer lattices hold the coarser)
        if stride > 1:
            assert np.isnan(pic.values[off]).all()
    np.testing.assert_array_equal(pics[-1][1].values, full.values)
    assert full.values[20, 20] == pytest.approx(obj.value(x), rel=1e-14)


def test_float32_hidden_layers_agree_with_float64_to_a_pictures_precision():
    s = _setup(layers=(24, 24), samples=400)  # 697 parameters: float32 by default
    obj, x = s.objective(), s.start()
    assert obj.n_free > 500
    d1, d2 = random_directions(obj, x, seed=0)
    f32 = landscape(obj, x, d1, d2, 1.0, 15)
    f64 = landscape(obj, x, d1, d2, 1.0, 15, precision="float64")
    plain = np.array([[obj.value(x + a * d1 + b * d2) for b in f64.b] for a in f64.a])
    np.testing.assert_allclose(f64.values, plain, rtol=1e-12)
    assert np.max(np.abs(f32.values - plain)) <= 1e-5 * np.ptp(plain) + 1e-6 * np.abs(plain).max()
    with pytest.raises(ValueError, match="precision"):
        landscape(obj, x, d1, d2, 1.0, 5, precision="float16")


def test_compiled_float32_transfer_functions_against_numpy():
    from bpgui_engine.jit import activations as ew

    n = np.concatenate([np.linspace(-12, 12, 20001), [0.0, -0.0, 1e-30, 60.0, -60.0]])
    n = n.astype(np.float32)
    a = np.empty_like(n)
    ew.tansig32_into(n, a)
    np.testing.assert_allclose(a, np.tanh(n.astype(float)), atol=5e-7, rtol=0)
    assert np.signbit(a[-4]) and a[-5] == 0 and a[-3] == pytest.approx(1e-30, rel=1e-6)
    ew.logsig32_into(n, a)
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-n.astype(float))), atol=5e-7, rtol=0)


def test_pca_view_is_centred_on_the_trajectorys_end_with_its_projection():
    s = _setup()
    obj, x = s.objective(), s.start()
    rng = np.random.default_rng(0)
    path = x + np.cumsum(rng.standard_normal((40, len(x))) * 0.05, axis=0)
    views = list(compute_landscape(s, "pca", None, path=path, resolution=21, span=1.0))
    v = views[-1]
    assert v.done and v.stride == 1 and [w.stride for w in views] == [2, 1]
    assert v.centre_value() == pytest.approx(obj.value(path[-1]), rel=1e-12)
    M = path - path[-1]
    np.testing.assert_allclose(v.path, M @ np.stack([v.d1, v.d2]).T, atol=1e-12)
    # the grid covers the projected trajectory (span 1 = 1.1 x its extent)
    assert v.x_axis[-1] == pytest.approx(1.1 * np.abs(v.path).max())
    assert "PC1" in v.axis_labels()[0] and "% of the variance" in v.axis_labels()[1]


def test_line_view_has_both_ends():
    s = _setup()
    obj, a = s.objective(), s.start()
    b = a + 0.3
    (v,) = compute_landscape(s, "line", a, b=b, resolution=11)
    fa, fb = v.ends()
    assert fa == pytest.approx(obj.value(a), rel=1e-12) and fb == pytest.approx(obj.value(b))
    assert v.x_axis[0] < 0 < 1 < v.x_axis[-1]


@pytest.mark.parametrize(
    ("mode", "kw", "match"),
    [
        ("sideways", {}, "random, pca or line"),
        ("random", {"span": float("inf")}, "span"),
        ("random", {"span": 1e308}, "non-finite"),
        ("pca", {"path": np.zeros((2, 31))}, "fewer than 3"),
        ("pca", {"path": np.zeros((5, 31))}, "fewer than 3 distinct"),
        ("line", {"b": None}, "every free parameter"),
        ("line", {"b": "same"}, "same point"),
    ],
)
def test_bad_landscape_requests_get_one_line(mode, kw, match):
    s = _setup()
    x = s.start()
    if kw.get("b") == "same":
        kw = {"b": x.copy()}
    if kw.get("b", 0) is None:
        kw = {"b": np.zeros(3)}
    with pytest.raises(ValueError, match=match) as err:
        list(compute_landscape(s, mode, x, resolution=5, **kw))
    assert "\n" not in str(err.value)


def test_one_free_parameter_has_no_plane():
    s = Setup.from_preset().replace(free=Setup.from_preset().free[:1])
    with pytest.raises(ValueError, match="at least two free parameters"):
        list(compute_landscape(s, "random", s.start(), resolution=5))


def test_spectrum_view_against_the_exact_hessian():
    s = plane_setup("moons:samples=60", layers=(5, 4), seed=2)
    obj = s.objective()
    x = s.start() * 1.5
    lam = np.linalg.eigvalsh(obj.hessian(x))
    v = compute_spectrum(s, x, k=3)
    assert v.converged
    np.testing.assert_allclose(v.top, lam[::-1][:3], rtol=1e-7)
    np.testing.assert_allclose(v.bottom, lam[:3], rtol=1e-6, atol=1e-8 * abs(lam).max())
    assert np.trapezoid(v.density_y, v.density_x) == pytest.approx(1.0, abs=1e-3)
    assert v.weights.sum() == pytest.approx(1.0)
    saddle = lam[0] < -1e-3 * lam[-1]
    assert saddle == ("not a minimum" in v.message()) and "CE" in v.message()
    assert (lam[0] >= 0) == ("no negative curvature" in v.message())
    np.testing.assert_allclose(v.saddle_directions(), v.bottom[v.bottom < -1e-3 * lam[-1]])
    assert v.n == obj.n_free


def test_spectrum_that_does_not_converge_says_so_with_its_residuals():
    s = plane_setup("moons:samples=60", layers=(5, 4), seed=2)
    v = compute_spectrum(s, s.start(), k=3, max_hvps=5)
    assert not v.converged
    assert "did not converge (largest residual" in v.message()


def test_memory_limit_refuses_landscapes_and_spectra_in_one_line(monkeypatch):
    monkeypatch.setenv("BPGUI_MEMORY_LIMIT", "1K")
    s = _setup()
    with pytest.raises(MemoryLimitError, match="BPGUI_MEMORY_LIMIT"):
        list(compute_landscape(s, "random", s.start(), resolution=5))
    with pytest.raises(MemoryLimitError, match="the spectrum needs about"):
        compute_spectrum(s, s.start())


def test_the_landscape_job_streams_coarse_pictures_and_cancels():
    s = _setup()
    req = {"setup": s, "mode": "random", "x": s.start(), "options": {"resolution": 41}}
    gen = jobs.JOBS["landscape"](req, threading.Event())
    got = []
    try:
        while True:
            got.append(next(gen))
    except StopIteration as stop:
        final, error = stop.value
    assert [v.stride for v in got] == [4, 2] and final.stride == 1 and error == ""
    cancel = threading.Event()
    gen = jobs.JOBS["landscape"](req, cancel)
    first = next(gen)
    cancel.set()
    with pytest.raises(StopIteration) as stop:
        next(gen)
    partial, error = stop.value.value
    assert partial.stride == first.stride == 4 and error == ""


def test_landscape_and_sharpness_survive_a_session_round_trip(tmp_path):
    s = _setup()
    (v,) = [w for w in compute_landscape(s, "random", s.start(), resolution=9) if w.done]
    from bpgui_engine.session import Session

    sess = Session(s, landscape=v, sharpness=(np.array([0, 10, 20]), np.array([1.0, 2, 3]), 10))
    path = save_session(sess, tmp_path / "l.bpgui")
    back = read_session_bytes(path.read_bytes())
    w = back.landscape
    assert w.mode == "random" and w.stride == 1 and w.index_name == v.index_name
    assert len(v.iso_x) > 0 and len(v.iso_x) % 2 == 0
    for f in ("x_axis", "y_axis", "values", "center", "d1", "d2", "path", "iso_x", "iso_y"):
        np.testing.assert_array_equal(getattr(w, f), getattr(v, f))
    ep, val, every = back.sharpness
    assert list(ep) == [0, 10, 20] and list(val) == [1, 2, 3] and every == 10


def test_a_malformed_landscape_section_is_one_line():
    import io
    import json
    import zipfile

    s = _setup()
    (v,) = [w for w in compute_landscape(s, "line", s.start(), b=s.start() + 1, resolution=5)]
    from bpgui_engine.session import Session

    raw = session_bytes(Session(s, landscape=v))
    zin = zipfile.ZipFile(io.BytesIO(raw))
    doc = json.loads(zin.read("session.json"))
    for bad, match in ((dict(doc["landscape"], mode="cube"), "landscape.mode"),
                       (dict(doc["landscape"], shape=[5, 5]), "landscape.shape")):  # fmt: skip
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename == "session.json":
                    data = json.dumps(dict(doc, landscape=bad)).encode()
                z.writestr(info.filename, data)
        with pytest.raises(SessionError, match=match):
            read_session_bytes(out.getvalue())


def test_a_stop_inside_a_level_keeps_the_last_complete_picture():
    s = _setup()
    obj, x = s.objective(), s.start()
    d1, d2 = random_directions(obj, x, seed=3)
    asked = []

    def stop():  # stop in the middle of the second level (batches of 4 points)
        asked.append(1)
        return len(asked) >= 3

    pics = list(progressive(obj, x, d1, d2, 0.8, 41, should_stop=stop, chunk=4))
    strides = [st for st, _ in pics]
    assert strides == [4, 4]  # the first level, then the picture so far at its stride
    full = landscape(obj, x, d1, d2, 0.8, 41)
    idx = lattice(41, 4)
    got = pics[-1][1].values
    np.testing.assert_array_equal(got[np.ix_(idx, idx)], full.values[np.ix_(idx, idx)])
    computed = np.isfinite(got)
    np.testing.assert_array_equal(got[computed], full.values[computed])  # never a guess
    assert computed.sum() > len(idx) ** 2  # some of the second level was computed

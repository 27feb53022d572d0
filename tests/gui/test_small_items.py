"""Issue 18 #13: the small ones a lecturer meets."""

from __future__ import annotations

from PySide6.QtWidgets import QToolButton

T = 30_000


def _toolbar_texts(window) -> list[str]:
    return [b.text().replace("&", "") for b in window.toolbar.findChildren(QToolButton)
            if b.isVisible() and b.defaultAction() is not None]  # fmt: skip


def test_one_pause_button_while_running(window, qtbot):
    window.speed.setValue(8)
    window.actions.start.trigger()
    qtbot.waitUntil(lambda: window.controller.state == "running", timeout=T)
    assert _toolbar_texts(window).count("Pause") == 1
    window.controller.discard()


def test_an_experiment_at_a_crawl_says_it_speeds_up(window, qtbot):
    said = []
    window.status_fields  # noqa: B018
    orig = window.show_message
    window.show_message = lambda text, error=False: (said.append(text), orig(text, error))
    window.speed.setValue(0)  # 1 epoch/s
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.load_experiment("trajectory-a")
    assert window.speed.value() == window.speed.maximum()
    assert any("speed set to as fast as possible" in t for t in said), said


def test_fit_to_trajectory_writes_round_numbers(window, qtbot):
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.load_experiment("vlbp")
    window.actions.fit.trigger()
    p = window.plots
    for w in (p.x0, p.x1, p.y0, p.y1):
        assert len(w.text()) <= 7, w.text()


def test_the_problem_box_says_what_changed(window, qtbot):
    label = window.network_pane.problem_label
    assert label.text().startswith("book-1-2-1:") and "—" not in label.text()
    window.apply_setup(window.setup.replace(performance="mse"))
    assert "MSE" in label.text()
    window.apply_setup(window.setup.replace(free=window.setup.spec.labels))
    assert "7 free parameters" in label.text()


def test_cg_names_its_step_not_a_learning_rate(window, qtbot):
    with qtbot.waitSignal(window.controller.run_finished, timeout=T):
        window.load_experiment("cg")
    text = window.status_fields["rate"].text()
    assert text.startswith("step ") and not text.startswith("lr")


def test_the_gradient_check_says_what_it_compared(window, qtbot):
    window.actions.gradcheck.trigger()  # computed in the compute service
    qtbot.waitUntil(lambda: window.tools["gradcheck"].info_box is not None, timeout=20_000)
    text = window.tools["gradcheck"].info_box.informativeText()
    assert "layer 1: compared ∂F/∂x for its free parameter; worst W1[1,1]" in text
    assert "central difference" in text and "accurate to ±" in text
    window.tools["gradcheck"].info_box.close()


def test_the_progress_bar_keeps_up_with_the_epoch(window):
    """Issue 18 #13: 16 % at epoch 164,339 of 400,000 -- the bar was redrawn at most five
    times a second, a long way behind a run at a million epochs a second.  Now it shows
    whole percent of the run's maximum and changes whenever that does."""
    from bpgui_engine.train.history import History

    h = History(2)
    status = window.status
    for epoch in (0, 40_000, 164_339, 164_500, 399_999):  # frames 25 ms apart, or less
        h.extend({"epoch": [epoch], **{c: [0.1] for c in ("performance", "sse",
                  "grad_norm", "lr", "mu", "val_performance")}}, [[0.0, 0.0]])  # fmt: skip
        status.show_run(h, "running", 400_000)
        assert window.progress.value() == epoch * 100 // 400_000
    assert "399,999 of at most 400,000" in window.progress.toolTip()

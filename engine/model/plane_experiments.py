"""Experiments on data in the plane (the Experiments menu's "Classification in the plane"):
what a hidden layer, features, depth, a weight penalty and the transfer function do, and
the book's contour view on a classification problem.  Each is plain data for
:class:`~bpgui_engine.model.experiments.Experiment`; the figures in the descriptions are
checked by ``tests/engine/test_plane_experiments.py``."""

from __future__ import annotations

from typing import Any

from bpgui_engine.train.trainer import StopCriteria

__all__ = ["PLANE_EXPERIMENTS"]


def _run(optimizer: str, epochs: int, **hyper: Any) -> dict[str, Any]:
    return {"optimizer": optimizer, "hyper": hyper, "criteria": StopCriteria(epochs=epochs)}


SPIRAL = "spiral:samples=400"
NOISY = "gauss:noise=0.8,samples=80"

#: (key, title, description, plane_setup's arguments, setup changes, start)
PLANE_EXPERIMENTS: list[tuple[str, str, str, dict[str, Any], dict[str, Any], tuple]] = [
    (
        "xor-linear",
        "XOR with one neuron: no hidden layer fails",
        "The four-quadrant XOR (class 1 where x1 x2 >= 0), 500 points, half of them the test "
        "set; one logsig neuron on x1 and x2, cross-entropy, Adam (lr 0.05) for 500 "
        "epochs.\n\n"
        "What to look for: one neuron draws one straight boundary, and no straight line "
        "separates the quadrants: the accuracy stays near 70 % (training) and the decision "
        "map is a half-plane. Tick the x1·x2 feature and train again: the same single "
        "neuron then reaches 100 %.",
        {"dataset": "xor", "layers": ()},
        _run("adam", 500, lr=0.05),
        (),
    ),
    (
        "xor-hidden",
        "XOR with a hidden layer: 2-4-1 succeeds",
        "The same XOR data; a hidden layer of four tansig neurons, a logsig output, "
        "cross-entropy, Adam (lr 0.02) for 3,000 epochs: 100 % of the training points and "
        "about 99 % of the test points.\n\n"
        "What to look for: the hidden neurons' maps in the diagram, each a soft half-plane, "
        "combined by the output into the cross. With two hidden neurons (set the layer to "
        "2 and Build network) it stops near 87 %: on these continuous quadrants two straight "
        "lines cannot draw the cross (the classic 2-2-1 XOR has four points only).",
        {"dataset": "xor", "layers": (4,)},
        _run("adam", 3000, lr=0.02),
        (),
    ),
    (
        "circle-features",
        "The circle with x1² and x2² and no hidden layer",
        "The circle data (class 1 inside radius 2.5); the inputs x1² and x2² only, one "
        "logsig neuron, cross-entropy, Adam (lr 0.05) for 500 epochs: 100 % on both sets.\n\n"
        "What to look for: a circular decision region from a single neuron: the boundary "
        "is straight in (x1², x2²), a circle in (x1, x2). With x1 and x2 instead it stays "
        "near 66 %.",
        {"dataset": "circle", "layers": (), "features": ("x1sq", "x2sq")},
        _run("adam", 500, lr=0.05),
        (),
    ),
    (
        "spiral-deep",
        "The spiral with a deep network (2-8-8-1)",
        "Two spiral arms, 400 points (noise 0), half of them the test set; two hidden "
        "layers of eight tansig neurons, a logsig output, cross-entropy, Adam (lr 0.01) for "
        "3,000 epochs: 100 % of the training points (under a second), about 95 % of the "
        "test points.\n\n"
        "What to look for: the region winding with the arms; the first layer's maps are "
        "half-planes, the second layer's already curved. Compare with the shallow network.",
        {"dataset": SPIRAL, "layers": (8, 8)},
        _run("adam", 3000, lr=0.01),
        (),
    ),
    (
        "spiral-shallow",
        "The spiral with a shallow network (2-8-1)",
        "The same spiral and training with one hidden layer of eight tansig neurons: about "
        "88 % of the training points and 71 % of the test points after 3,000 epochs.\n\n"
        "What to look for: a region made of eight soft half-planes cannot follow the arms; "
        "the same eight neurons in a second layer (the deep experiment) can.",
        {"dataset": SPIRAL, "layers": (8,)},
        _run("adam", 3000, lr=0.01),
        (),
    ),
    (
        "overfit",
        "Overfitting noisy Gaussians (2-20-20-1, no penalty)",
        "Two heavily overlapping Gaussian clouds (noise 0.8), 80 points, half of them the "
        "test set; two hidden layers of 20 tansig neurons, Adam (lr 0.02) for 5,000 "
        "epochs: 100 % of the training points but about 82 % of the test points.\n\n"
        "What to look for: the training loss falls towards 0 while the test SSE (dashed) "
        "turns up; the decision map bends around single training points. Then run the L2 "
        "experiment.",
        {"dataset": NOISY, "layers": (20, 20), "seed": 1},
        _run("adam", 5000, lr=0.02),
        (),
    ),
    (
        "overfit-l2",
        "The same network with an L2 penalty (weight decay 0.01)",
        "The overfitting experiment with L2 0.01 added to the performance index: about "
        "92 % of the training points and 92 % of the test points, the test loss about a "
        "sixth of the unpenalized one's.\n\n"
        "What to look for: a smooth boundary between the clouds; the training and test "
        "curves stay together. The penalty can be changed during the run (Network & data "
        "▸ weight penalty): raise it and watch the boundary straighten.",
        {"dataset": NOISY, "layers": (20, 20), "seed": 1, "l2": 0.01},
        _run("adam", 5000, lr=0.02),
        (),
    ),
    *[
        (
            f"activation-{tr}",
            f"The spiral with {name} hidden neurons",
            f"The deep spiral network (2-8-8-1, Adam lr 0.01, 3,000 epochs) with {name} in "
            f"both hidden layers: {result}.\n\n"
            f"What to look for: {look} Run the three one after another and compare the "
            "maps in the diagram and the test accuracy.",
            {"dataset": SPIRAL, "layers": (8, 8), "transfer": tr},
            _run("adam", 3000, lr=0.01),
            (),
        )
        for tr, name, result, look in (
            (
                "poslin",
                "ReLU (poslin)",
                "100 % training, about 88 % test accuracy",
                "a region of straight pieces (each ReLU is linear on its side of a line).",
            ),
            (
                "tansig",
                "tanh (tansig)",
                "100 % training, about 95 % test accuracy (the deep spiral experiment's run, "
                "for the comparison)",
                "smooth, curved boundaries.",
            ),
            (
                "logsig",
                "logsig",
                "100 % training, about 97 % test accuracy, a slower start",
                "the slowest start: logsig's outputs are not centred on 0.",
            ),
        )
    ],
    (
        "plane-contour",
        "The contour of the loss over two weights of a classifier",
        "The book's view on a classification problem: the circle data, the inputs x1² and "
        "x2², one logsig neuron with its bias fixed at 4.5; the cross-entropy over its two "
        "weights W1[1,1] and W1[1,2]. Steepest descent (lr 0.05) from (0.5, 0.5) reaches "
        "the minimum near (-0.5, -0.5) in about 900 epochs.\n\n"
        "What to look for: a single bowl (one neuron's cross-entropy is convex in its "
        "weights: no local minima, unlike the book's network); the decision map's circle "
        "growing from nothing to radius 3 as the weights reach the minimum.",
        {"dataset": "circle", "layers": (), "features": ("x1sq", "x2sq")},
        {
            **_run("sd", 20_000, lr=0.05),
            "theta": (0.5, 0.5, 4.5),
            "free": ("W1[1,1]", "W1[1,2]"),
            "axes": ("W1[1,1]", "W1[1,2]"),
            "ranges": ((-3.0, 1.0), (-3.0, 1.0)),
        },
        (0.5, 0.5),
    ),
]

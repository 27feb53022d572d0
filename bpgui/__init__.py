"""bpgui: watch backpropagation train a neural network.  Importing this package loads no Qt.

It does set ``OPENBLAS_NUM_THREADS=1`` (unless already set) before NumPy loads, for this
process and every process it starts (engine, compute processes): each process runs its
matrix products on one thread and the compute service spreads work over processes.
OpenBLAS's own threads busy-wait, so on a 2-core machine shared with the window they made
the BLAS kernel 4-5x slower in the window (104 against 502 epochs/s on a 2,701-parameter
network, measured) and cost the window's process a core."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

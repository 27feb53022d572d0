"""Training: the run loop, the compiled fast path, batches of runs, and the history a run keeps.
Qt-free."""

"""Many runs at once: optimizer races, basin maps, hyperparameter sweeps, and where their chunks
run.  Qt-free."""

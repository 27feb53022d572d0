"""bpgui: watch backpropagation train a neural network.  Importing this package loads no Qt."""

__version__ = "0.1.0"

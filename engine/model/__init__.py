"""The network and the problem: layers, transfer functions, data, performance indices, the
objective, setups and presets.  Qt-free."""

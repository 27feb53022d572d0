"""Tools: each one a component given the window's document and compute service."""

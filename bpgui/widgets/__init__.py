"""Small widgets shared by panes and tools."""

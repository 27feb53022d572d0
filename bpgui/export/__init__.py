"""File ▸ Export: plots, animations and data files."""

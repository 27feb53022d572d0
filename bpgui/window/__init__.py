"""The main window: it composes the panes, tools, menus, status bar, theme and settings."""

"""The `safewindow` command line."""

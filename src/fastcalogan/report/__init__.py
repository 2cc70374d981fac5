"""Reports: plots and HTML pages."""

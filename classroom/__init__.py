"""A classroom on JupyterHub for the course: configuration, settings and `make classroom`."""

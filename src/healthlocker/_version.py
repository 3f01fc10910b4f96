"""The package version: read by pyproject.toml at build time, and by the code, without
importlib.metadata (which costs ~70 ms at every start)."""

__version__ = "0.1.0"

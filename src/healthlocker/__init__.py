"""healthlocker: your health records, encrypted and consented, for any MCP assistant."""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # importlib.metadata costs ~70 ms and ~5 MiB: only the server info and --version need it.
    if name != "__version__":
        raise AttributeError(f"module 'healthlocker' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("healthlocker")
    except PackageNotFoundError:  # running from a source tree without an install
        value = "0.0.0"
    globals()["__version__"] = value
    return value

"""healthlocker: your health records, encrypted and consented, for any MCP assistant."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("healthlocker")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]

"""healthlocker: your health records, encrypted and consented, for any MCP assistant."""

from healthlocker._version import __version__

__all__ = ["__version__"]

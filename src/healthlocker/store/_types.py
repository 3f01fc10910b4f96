"""Types shared by the store and its callers, in a module that imports nothing heavy."""

from typing import Any

Item = tuple[str, dict[str, Any]]  # (where in the input, resource)

"""``python -m healthlocker.cli``: the same as the ``healthlocker`` command."""

import sys

from healthlocker.cli import main

sys.exit(main())

"""``python -m ccdesk``: the same entry point as the ``ccdesk`` command."""

import sys

from ccdesk.cli import main

sys.exit(main())

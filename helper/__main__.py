"""``python -m helper`` runs the command line."""

import sys

from helper.commands.main import main

sys.exit(main())

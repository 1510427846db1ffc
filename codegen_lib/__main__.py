"""``python -m codegen_lib`` (and ``accelerate launch -m codegen_lib``): see :mod:`codegen_lib.cli`."""

import sys

from codegen_lib.cli import main

sys.exit(main())

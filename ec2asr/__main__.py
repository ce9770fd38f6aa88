"""``python -m ec2asr``."""

from __future__ import annotations

import sys

from ec2asr.cli import main

if __name__ == "__main__":
    sys.exit(main())

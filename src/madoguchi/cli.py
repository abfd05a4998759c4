"""The `madoguchi` command: Django's management commands under the project's name.

madoguchi procedures check catalogue/
madoguchi migrate
madoguchi sample load
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["madoguchi", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()

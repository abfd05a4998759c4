from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

import madoguchi


class Command(BaseCommand):
    help = (
        "Compile the translation catalogues (.po to .mo) in pure Python: no gettext tools needed."
    )

    def handle(self, *args, **options):
        import polib

        root = Path(madoguchi.__file__).parent
        count = 0
        for po_path in root.rglob("locale/*/LC_MESSAGES/*.po"):
            polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
            count += 1
        self.stdout.write(f"compiled {count} catalogue(s)")

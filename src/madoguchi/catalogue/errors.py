from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language


@dataclass(frozen=True)
class FieldError:
    """A message about one input. `path` is the answer path (e.g. `children.0.name.family`)."""

    path: str
    ja: str
    en: str
    code: str = "invalid"

    @property
    def message(self) -> str:
        return self.en if (get_language() or "ja").startswith("en") else self.ja

    @property
    def input_id(self) -> str:
        """The HTML id of the input the error belongs to, for the error summary's links."""
        return "f-" + self.path.replace(".", "-")

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.ja, "message_en": self.en, "code": self.code}

"""Password rules after NIST SP 800-63B-4: length and a blocklist, never composition rules.

Django's own validators give the minimum length, the similarity to the account's attributes
and a list of 20,000 passwords common in breaches; these add what the guidance also lists:
words of the service itself, repeated or sequential characters, and a cap that keeps
hashing cheap without refusing any real passphrase.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from django.conf import settings
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_LENGTH = 256
_KEYBOARD = "1234567890qwertyuiopasdfghjklzxcvbnm"
_SERVICE_WORDS = {"madoguchi", "まどぐち", "窓口", "password", "passwort", "pass", "admin"}


def normalise(password: str) -> str:
    # NFKC so that full-width ａｂｃ１２３ and half-width abc123 are the same password.
    return unicodedata.normalize("NFKC", password).casefold()


class MaximumLengthValidator:
    def validate(self, password: str, user=None) -> None:
        if len(password) > MAX_LENGTH:
            raise ValidationError(
                _("パスワードは%(max)d文字以内にしてください。") % {"max": MAX_LENGTH},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("%(max)d文字まで使えます。文章のような長いパスワードもおすすめです。") % {
            "max": MAX_LENGTH
        }


def _is_sequence(text: str) -> bool:
    if len(text) < 4:
        return False
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    if steps in ({1}, {-1}):
        return True
    # Runs along the keyboard, and digits counted on past 9 (…7890123…).
    for row in (_KEYBOARD, "0123456789"):
        ring = row * (len(text) // len(row) + 2)
        if text in ring or text[::-1] in ring:
            return True
    return False


def _letters(text: str) -> str:
    return re.sub(r"[\W\d_]+", "", text)


def _repeated_unit(text: str) -> str | None:
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


class BlocklistValidator:
    """Refuses what an attacker tries first, whatever characters it is dressed in."""

    def _context_words(self, user) -> set[str]:
        words = set(_SERVICE_WORDS)
        words.add(str(getattr(settings, "MADOGUCHI_SITE_NAME", "")))
        email = getattr(user, "email", "") or ""
        if "@" in email:
            local, _at, domain = email.partition("@")
            words.add(local)
            words.add(domain.split(".")[0])
        # Compared as the password is: letters only ("sakura.yamada" is "sakurayamada").
        return {_letters(normalise(word)) for word in words} - {""}

    def validate(self, password: str, user=None) -> None:
        text = normalise(password)
        letters = _letters(text)
        unit = _repeated_unit(text)
        common = CommonPasswordValidator().passwords
        if (
            len(set(text)) <= 2
            or _is_sequence(text)
            or (unit is not None and (len(unit) <= 5 or unit in common))
        ):
            raise ValidationError(
                _("同じ文字や連続した文字の繰り返しは、推測されやすいため使えません。"),
                code="password_repetitive",
            )
        if letters and (letters in self._context_words(user) or letters in common):
            raise ValidationError(
                _(
                    "このパスワードは推測されやすい言葉（サービス名、メールアドレス、"
                    "よく使われるパスワード）に数字や記号を足しただけなので使えません。"
                ),
                code="password_guessable",
            )

    def get_help_text(self) -> str:
        return _(
            "英字・数字・記号を混ぜる必要はありません。推測されにくい長い言葉を選んでください。"
        )

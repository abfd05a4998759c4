"""Labels shared by several capabilities."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

LIFE_EVENTS = {
    "pregnancy_birth": _("妊娠・出産"),
    "childcare": _("子育て"),
    "education": _("入学・教育"),
    "moving": _("引っ越し・住まい"),
    "marriage": _("結婚・離婚"),
    "work": _("就職・退職"),
    "housing": _("住宅"),
    "health": _("健康・医療"),
    "disability": _("障害のある方"),
    "elderly_care": _("高齢者・介護"),
    "death": _("おくやみ"),
    "pets": _("ペット"),
    "business": _("事業者の方"),
    "certificates": _("証明書"),
    "tax": _("税金"),
    "disaster": _("防災・災害"),
}

CHANNELS = {
    "online": _("オンラインで手続できます"),
    "in_person": _("窓口での手続です"),
    "online_and_in_person": _("オンラインまたは窓口で手続できます"),
}

RETENTION = {
    "1年": _("1年"),
    "3年": _("3年"),
    "5年": _("5年"),
    "10年": _("10年"),
    "30年": _("30年"),
    "常用": _("常用"),
}

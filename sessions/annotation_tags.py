"""The tags of a live annotation, in words (pure: the replay, the screens and the report
read them)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

TAG_LABELS = {
    "good": gettext_lazy("Bonne pratique"),
    "silo": gettext_lazy("Silo"),
    "missed": gettext_lazy("Signal manqué"),
    "legal": gettext_lazy("Erreur juridique"),
    "welfare": gettext_lazy("Bien-être"),
    "objective": gettext_lazy("Objectif"),
}


def tag_label(payload: dict) -> str:
    """The tag in words; an objective's tag is the objective's title."""
    if payload.get("tag") == "objective":
        return str(payload.get("title") or payload.get("objective", ""))
    return str(TAG_LABELS.get(payload.get("tag", ""), payload.get("tag", "")))

"""Forms of the scenario library: the upload, and the filters of the library and MSEL."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from scenarios.format.xlsx import MAX_WORKBOOK_BYTES, XLSX_CONTENT_TYPE

# The format's limits (docs: scenario-format.md, "Container").
MAX_BUNDLE_BYTES = 50 * 1024 * 1024
MAX_YAML_BYTES = 2 * 1024 * 1024
UPLOAD_SUFFIXES = (".yaml", ".yml", ".zip", ".xlsx")
UPLOAD_ACCEPT = f".yaml,.yml,.zip,.xlsx,application/zip,application/yaml,{XLSX_CONTENT_TYPE}"


def language_label(code: str) -> str:
    """`fr` → "Français (fr)" in the interface language; unknown codes stay as they are."""
    try:
        name = get_language_info(code)["name_translated"]
    except KeyError:
        return code
    return f"{name} ({code})"


class ScenarioUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier du scénario"),
        help_text=_(
            "Un fichier YAML (.yaml, .yml, 2 Mio au plus), un classeur .xlsx (10 Mio au plus) "
            "ou une archive .zip contenant scenario.yaml ou scenario.xlsx et ses pièces "
            "jointes (50 Mio au plus)."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )

    check_only = forms.BooleanField(
        label=_("Vérifier seulement, sans rien enregistrer"),
        required=False,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith(UPLOAD_SUFFIXES):
            raise ValidationError(
                _("Seuls les fichiers .yaml, .yml, .xlsx et .zip sont acceptés (reçu : %(name)s)."),
                code="suffix",
                params={"name": upload.name},
            )
        if name.endswith(".zip"):
            limit = MAX_BUNDLE_BYTES
        elif name.endswith(".xlsx"):
            limit = MAX_WORKBOOK_BYTES
        else:
            limit = MAX_YAML_BYTES
        if upload.size > limit:
            raise ValidationError(
                _("Le fichier pèse %(size)s ; la limite est de %(limit)s."),
                code="too_large",
                params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            )
        return upload


class LibraryFilterForm(forms.Form):
    """GET filters of the library; choices come from the scenarios present."""

    q = forms.CharField(label=_("Rechercher"), required=False, max_length=200)
    tag = forms.ChoiceField(label=_("Mot-clé"), required=False)
    language = forms.ChoiceField(label=_("Langue"), required=False)

    def __init__(self, *args, tags: list[str], languages: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", _("Tous"))] + [(t, t) for t in tags]
        self.fields["language"].choices = [("", _("Toutes"))] + [
            (code, language_label(code)) for code in languages
        ]

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid value (a stale link) is simply dropped."""
        if self.is_bound:
            self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q", "") or "",
            "tag": data.get("tag", "") or "",
            "language": data.get("language", "") or "",
        }

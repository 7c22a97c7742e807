from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sessions.models import CODE_ALPHABET, CODE_LENGTH, Session


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Titre de la session"), max_length=300)
    cohort = forms.CharField(label=_("Promotion / groupe"), max_length=200, required=False)
    join_mode = forms.ChoiceField(
        label=_("Accueil des stagiaires"),
        choices=Session.JoinMode.choices,
        initial=Session.JoinMode.OPEN,
        widget=forms.RadioSelect,
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code de la session"),
        max_length=16,
        help_text=_("Le code que le formateur vous a donné, par exemple K7MQ4TD."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false", "class": "input--code"}),
    )

    def clean_code(self) -> str:
        # Forgive what people do when typing a code read aloud: spaces, dashes, case.
        code = "".join(ch for ch in self.cleaned_data["code"].upper() if ch.isalnum())
        if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
            raise forms.ValidationError(
                _("Un code a %(n)d caractères (lettres et chiffres).") % {"n": CODE_LENGTH}
            )
        return code


class NameForm(forms.Form):
    """Your name, and the seat (open mode) or the role you hope for (approval mode)."""

    name = forms.CharField(label=_("Votre nom"), max_length=100)

    def __init__(self, *args, seats=None, approval: bool = False, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        if seats is not None and not approval:
            self.fields["seat"] = forms.ChoiceField(
                label=_("Votre rôle"),
                choices=[(seat.pk, seat.label) for seat in seats],
                widget=forms.RadioSelect,
            )
        elif approval:
            self.fields["role"] = forms.ChoiceField(
                label=_("Rôle souhaité (le formateur décide)"),
                choices=[("", _("Indifférent"))] + [(r.ident, r.title) for r in roles],
                required=False,
            )

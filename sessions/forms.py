from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sessions.exercises.models import MAX_SYNDICATES, Exercise
from sessions.models import CODE_ALPHABET, CODE_LENGTH, ImprovementItem, Session


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Titre de la session"), max_length=300)
    cohort = forms.CharField(label=_("Promotion / groupe"), max_length=200, required=False)
    join_mode = forms.ChoiceField(
        label=_("Accueil des stagiaires"),
        choices=Session.JoinMode.choices,
        initial=Session.JoinMode.OPEN,
        widget=forms.RadioSelect,
    )
    # Several teams playing the same scenario at once: an exercise (sessions.exercises).
    syndicates = forms.IntegerField(
        label=_("Nombre d’équipes"), min_value=1, max_value=MAX_SYNDICATES, initial=1,
        required=False,
        help_text=_("1 : une seule session. De 2 à 8 : autant d’équipes, chacune une session "
                    "complète, pilotées depuis une salle de contrôle commune."),
    )
    placement = forms.ChoiceField(
        label=_("Répartition des stagiaires entre les équipes"),
        choices=Exercise.Placement.choices, initial=Exercise.Placement.CODES,
        widget=forms.RadioSelect, required=False,
    )

    def clean_syndicates(self) -> int:
        return self.cleaned_data.get("syndicates") or 1

    def clean_title(self) -> str:
        title = self.cleaned_data["title"]
        if self.data.get("syndicates") not in (None, "", "1") and len(title) > 280:
            raise forms.ValidationError(_("280 caractères au plus pour un exercice en équipes."))
        return title


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


class TeamJoinForm(forms.Form):
    """Your name and profession: the platform (or the trainer) picks your team."""

    name = forms.CharField(label=_("Votre nom"), max_length=100)

    def __init__(self, *args, roles=(), required_role: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(r.ident, r.title) for r in roles]
        if not required_role:
            choices = [("", _("Indifférent")), *choices]
        self.fields["role"] = forms.ChoiceField(label=_("Votre rôle"), choices=choices,
                                                required=required_role)


class ImprovementForm(forms.ModelForm):
    """A finding of the report, turned into an item of the scenario."""

    class Meta:
        model = ImprovementItem
        fields = ["what", "concerns", "owner", "due"]
        widgets = {"due": forms.DateInput(attrs={"type": "date"})}

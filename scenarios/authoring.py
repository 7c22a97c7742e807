"""Writing scenarios in the browser: drafts, and the review that makes them versions.

A trainer starts a draft (from nothing, from any version to edit it, or as a duplicate
under a new slug), saves it as often as they like — each save names the revision it was
based on, and a stale one is refused with who saved last — and submits it: the draft's
document goes through the import's own validator and becomes the next version of its
scenario, pending review. A second trainer approves it (it may then run live) or sends
it back with a comment (the draft reopens for its author). The author never approves
their own work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from scenarios.format import FORMAT, MAX_BUNDLE_BYTES, MAX_YAML_BYTES, canonical_dict
from scenarios.format.bundle import ATTACHMENT_TYPES
from scenarios.format.document import DocumentCheck, check_document
from scenarios.format.schema import unsafe_path_reason
from scenarios.models import (
    Draft,
    DraftFile,
    Scenario,
    ScenarioVersion,
    VersionReview,
)
from scenarios.services import scenario_document, store_blob, store_checked
from simtrain.permissions import is_trainer

MAX_NOTE = 4000


class AuthoringRefused(Exception):
    """What was asked cannot be done; `message` says why, in the user's language."""

    def __init__(self, code: str, message: str, check: DocumentCheck | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.check = check  # when refused for the document's errors


class DraftConflict(AuthoringRefused):
    """The draft was saved by someone (or another tab) since this copy was opened."""

    def __init__(self, draft: Draft):
        super().__init__(
            "conflict",
            _(
                "Ce brouillon a été enregistré ailleurs depuis que vous l’avez ouvert "
                "(révision %(revision)s, %(when)s). Rechargez-le avant d’enregistrer : "
                "rien n’a été écrasé."
            )
            % {
                "revision": draft.revision,
                "when": timezone.localtime(draft.updated_at).strftime("%d/%m/%Y %H:%M:%S"),
            },
        )
        self.revision = draft.revision


# --- starting a draft ------------------------------------------------------------------


def _require_trainer(user) -> None:
    if not is_trainer(user):
        raise AuthoringRefused("forbidden", _("Réservé aux formateurs."))


def _clean_slug(raw: str) -> str:
    slug = slugify(raw or "")[:64].strip("-")
    if not slug:
        raise AuthoringRefused(
            "bad-slug", _("Donnez un identifiant : lettres, chiffres et tirets.")
        )
    return slug


def _free_slug(slug: str) -> str:
    if Scenario.objects.filter(slug=slug).exists():
        raise AuthoringRefused(
            "slug-taken",
            _("Un scénario « %(slug)s » existe déjà : ouvrez-le pour en modifier une version.")
            % {"slug": slug},
        )
    return slug


def draft_new(*, user, slug: str, title: str, language: str = "fr") -> Draft:
    """An empty scenario to write from nothing (it is not valid until it has content)."""
    _require_trainer(user)
    slug = _free_slug(_clean_slug(slug))
    title = (title or "").strip()[:300] or slug
    document = {"format": FORMAT, "slug": slug, "title": title, "language": language}
    return Draft.objects.create(slug=slug, author=user, document=document)


def draft_from_version(*, user, version: ScenarioVersion) -> Draft:
    """A new draft holding `version`'s content, to become that scenario's next version."""
    _require_trainer(user)
    doc, files = scenario_document(version=version)
    with transaction.atomic():
        draft = Draft.objects.create(
            slug=version.scenario.slug,
            base_version=version,
            author=user,
            document=canonical_dict(doc),
        )
        _copy_files(draft, files)
    return draft


def draft_duplicate(*, user, version: ScenarioVersion, slug: str, title: str = "") -> Draft:
    """A new scenario that starts as a copy of `version`, under its own slug."""
    _require_trainer(user)
    slug = _free_slug(_clean_slug(slug))
    doc, files = scenario_document(version=version)
    document = canonical_dict(doc)
    document["slug"] = slug
    document["title"] = (title or "").strip()[:300] or _("%(title)s (copie)") % {
        "title": version.title
    }
    document.pop("version", None)  # the author's numbering starts again
    with transaction.atomic():
        draft = Draft.objects.create(slug=slug, author=user, document=document)
        _copy_files(draft, files)
    return draft


def _copy_files(draft: Draft, files: dict[str, bytes]) -> None:
    DraftFile.objects.bulk_create(
        DraftFile(draft=draft, path=path, blob=store_blob(path, data))
        for path, data in sorted(files.items())
    )


# --- editing ---------------------------------------------------------------------------


def _editable(draft_id, user) -> Draft:
    """The author's draft, locked for this transaction; refuses anyone else's."""
    draft = Draft.objects.select_for_update().filter(pk=draft_id).first()
    if draft is None or draft.author_id != getattr(user, "pk", None):
        raise AuthoringRefused("not-found", _("Ce brouillon n’existe pas ou n’est pas le vôtre."))
    if draft.state != Draft.State.EDITING:
        raise AuthoringRefused(
            "not-editing",
            _("Ce brouillon est en relecture ou publié : il ne se modifie plus."),
        )
    return draft


def _same_revision(draft: Draft, revision) -> None:
    try:
        revision = int(revision)
    except (TypeError, ValueError):
        raise AuthoringRefused("bad-value", _("Révision du brouillon illisible.")) from None
    if revision != draft.revision:
        raise DraftConflict(draft)


def _document(draft: Draft, document) -> dict:
    if not isinstance(document, dict):
        raise AuthoringRefused("bad-value", _("Le scénario doit être un objet."))
    if len(json.dumps(document, ensure_ascii=False).encode()) > MAX_YAML_BYTES:
        raise AuthoringRefused("too-large", _("Ce scénario dépasse la taille permise (2 Mio)."))
    slug = document.get("slug")
    if draft.base_version_id is not None and slug != draft.slug:
        raise AuthoringRefused(
            "slug-fixed",
            _(
                "L’identifiant d’un scénario existant ne change pas : dupliquez-le pour "
                "en faire un autre."
            ),
        )
    if draft.base_version_id is None and isinstance(slug, str) and slug != draft.slug:
        draft.slug = _free_slug(_clean_slug(slug))
        document = {**document, "slug": draft.slug}
    return document


def draft_save(*, draft_id, user, document, revision) -> Draft:
    """Store the author's document as the draft's next revision (valid or not)."""
    with transaction.atomic():
        draft = _editable(draft_id, user)
        _same_revision(draft, revision)
        draft.document = _document(draft, document)
        draft.revision += 1
        draft.save()
    return draft


def draft_put_file(*, draft_id, user, path: str, data: bytes) -> DraftFile:
    """Upload (or replace) the attachment the document names `path`."""
    path = (path or "").strip().replace("\\", "/")
    reason = unsafe_path_reason(path) if path else _("a besoin d’un nom")
    if reason:
        raise AuthoringRefused(
            "unsafe-path",
            _("Fichier « %(path)s » : %(reason)s.") % {"path": path, "reason": reason},
        )
    extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if extension not in ATTACHMENT_TYPES:
        raise AuthoringRefused(
            "bad-type",
            _("Type de fichier refusé (%(ext)s) ; permis : %(allowed)s.")
            % {"ext": extension or "?", "allowed": ", ".join(sorted(ATTACHMENT_TYPES))},
        )
    with transaction.atomic():
        draft = _editable(draft_id, user)
        others = sum(f.blob.size for f in draft.files.select_related("blob") if f.path != path)
        if others + len(data) > MAX_BUNDLE_BYTES:
            raise AuthoringRefused(
                "too-large", _("Les pièces jointes dépassent la taille permise.")
            )
        draft.files.filter(path=path).delete()
        row = DraftFile.objects.create(draft=draft, path=path, blob=store_blob(path, data))
        draft.save(update_fields=["updated_at"])
    return row


def draft_remove_file(*, draft_id, user, path: str) -> None:
    with transaction.atomic():
        draft = _editable(draft_id, user)
        if not draft.files.filter(path=path).delete()[0]:
            raise AuthoringRefused("not-found", _("Ce fichier n’est pas dans le brouillon."))


def draft_files(draft: Draft) -> dict[str, bytes]:
    return {f.path: bytes(f.blob.data) for f in draft.files.select_related("blob")}


def draft_check(draft: Draft, document=None) -> DocumentCheck:
    """What the import's validator says of the draft (or of `document`, not yet saved)."""
    return check_document(draft.document if document is None else document, draft_files(draft))


def draft_discard(*, draft_id, user) -> None:
    with transaction.atomic():
        _editable(draft_id, user).delete()


# --- preview ---------------------------------------------------------------------------


def preview_slug(draft: Draft) -> str:
    return f"apercu-{draft.pk.hex}"


def draft_preview(*, draft_id, user, revision) -> ScenarioVersion:
    """The draft's last saved revision stored as a version of its own hidden scenario,
    for "what each role receives" and a rehearsal before it is submitted. That scenario
    is in no library and never runs live; a preview unchanged since the last one is
    that one."""
    with transaction.atomic():
        draft = _editable(draft_id, user)
        _same_revision(draft, revision)
        slug = preview_slug(draft)
        check = check_document({**draft.document, "slug": slug}, draft_files(draft))
        if not check.ok:
            raise AuthoringRefused(
                "invalid",
                _("Le brouillon a %(n)s erreur(s) : corrigez-les avant l’aperçu.")
                % {"n": len(check.errors)},
                check,
            )
        scenario, _created = Scenario.objects.get_or_create(slug=slug, defaults={"preview": True})
        if not scenario.preview:  # someone named a real scenario like a preview
            raise AuthoringRefused("slug-taken", _("Aperçu impossible : identifiant occupé."))
        return store_checked(check.checked, user).version


# --- review ----------------------------------------------------------------------------


def draft_submit(*, draft_id, user, revision, note: str = "") -> ScenarioVersion:
    """The draft becomes its scenario's next version, awaiting a second trainer."""
    with transaction.atomic():
        draft = _editable(draft_id, user)
        _same_revision(draft, revision)
        check = draft_check(draft)
        if not check.ok:
            raise AuthoringRefused(
                "invalid",
                _("Le brouillon a %(n)s erreur(s) : corrigez-les avant de le soumettre.")
                % {"n": len(check.errors)},
                check,
            )
        result = store_checked(check.checked, user)
        if not result.created:
            raise AuthoringRefused(
                "unchanged",
                _("Rien n’a changé depuis la version %(n)s : il n’y a rien à relire.")
                % {"n": result.number},
            )
        VersionReview.objects.create(
            version=result.version, draft=draft, submitted_by=user, note=note.strip()[:MAX_NOTE]
        )
        draft.state = Draft.State.SUBMITTED
        draft.save(update_fields=["state", "updated_at"])
    return result.version


def _pending(version_id, user) -> VersionReview:
    _require_trainer(user)
    review = (
        VersionReview.objects.select_for_update()
        .select_related("version", "draft")
        .filter(version_id=version_id)
        .first()
    )
    if review is None:
        raise AuthoringRefused("not-found", _("Cette version n’attend pas de relecture."))
    if review.state != VersionReview.State.PENDING:
        raise AuthoringRefused("decided", _("Cette version a déjà été relue."))
    if review.submitted_by_id == user.pk:
        raise AuthoringRefused(
            "own-work", _("Un autre formateur doit relire ce que vous avez écrit.")
        )
    return review


@dataclass(frozen=True)
class Reviewed:
    version: ScenarioVersion
    draft: Draft


def review_approve(*, version_id, user, comment: str = "") -> Reviewed:
    """The version may run live; its draft is done."""
    with transaction.atomic():
        review = _pending(version_id, user)
        _decide(review, user, VersionReview.State.APPROVED, comment)
        review.draft.state = Draft.State.PUBLISHED
        review.draft.save(update_fields=["state", "updated_at"])
    return Reviewed(review.version, review.draft)


def review_return(*, version_id, user, comment: str) -> Reviewed:
    """Back to the author with the reviewer's comment; the draft reopens."""
    comment = (comment or "").strip()
    if not comment:
        raise AuthoringRefused("comment-required", _("Dites à l’auteur ce qu’il faut reprendre."))
    with transaction.atomic():
        review = _pending(version_id, user)
        _decide(review, user, VersionReview.State.RETURNED, comment)
        draft = review.draft
        draft.state = Draft.State.EDITING
        draft.base_version = review.version
        draft.save(update_fields=["state", "base_version", "updated_at"])
    return Reviewed(review.version, draft)


def _decide(review: VersionReview, user, state: str, comment: str) -> None:
    review.state = state
    review.reviewed_by = user
    review.reviewed_at = timezone.now()
    review.comment = (comment or "").strip()[:MAX_NOTE]
    review.save()

"""The editor's form, generated from the schema nodes: one input per key, by data path.

Built as HTML in Python rather than with a recursive template: 130 injects of twenty
keys each, with their nested triggers and conditions, render in milliseconds this way.
Inputs are named by their data path and carry `field_anchor(path)` as id, so a
diagnostic finds its field. Lists, and models that may hold themselves (a condition's
`not`), get their new items from one <template> per model; editor.js clones it and
puts the item's path in place of PLACEHOLDER.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from scenarios.editor.fields import FALSE, MISSING, TRUE, path_name, scalar_text
from scenarios.editor.labels import key_label
from scenarios.editor.nodes import PAIR, PAIR_KEYS, ROOT, Node, fields_of, model_refs, refers_to
from scenarios.format.document import field_anchor
from scenarios.format.law import CONDITION_FORMS
from scenarios.format.schema import MEASURE_FORMS, WHEN_FORMS

PLACEHOLDER = "__p__"
IDS_HELP = "ed-help-ids"  # the one paragraph that says how role lists are written
# Keys whose value names something of the document: their input suggests the ids.
REFERENCES = {
    ("*", "phase"): "phases",
    ("*", "inject"): "injects",
    ("*", "decision"): "injects",
    ("*", "action"): "actions",
    ("*", "request"): "requests",
    ("*", "countdown"): "countdowns",
    ("Request", "to"): "roles",
    ("MessageMeasure", "from"): "roles",
    ("MessageMeasure", "to"): "roles",
}
# The classes of a list's buttons (the project's small buttons).
TOOL = "ed-tool btn btn--small btn--tertiary"
ADD = "ed-add btn btn--small btn--secondary"
# The models that are one of several forms, each with its own keys.
UNIONS = {"When": WHEN_FORMS, "Condition": CONDITION_FORMS, "Measure": MEASURE_FORMS}
# The top-level lists whose items are shown folded, titled by these keys.
ITEM_TITLES = ("title", "label")


@dataclass
class Form:
    """What rendering needs besides the values: which ids to suggest."""

    suggestions: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, document: dict[str, Any]) -> Form:
        found: dict[str, list[str]] = {}
        for key in ("roles", "phases", "actions", "requests", "countdowns", "injects"):
            items = document.get(key) if isinstance(document, dict) else None
            found[key] = [
                str(item["id"])
                for item in (items if isinstance(items, list) else [])
                if isinstance(item, dict) and item.get("id")
            ]
        return cls(found)


@cache
def _recursive(ref: str) -> bool:
    return ref != PAIR and refers_to(ref, ref)


def render_fields(ref: str, data: Any, path: tuple, form: Form) -> SafeString:
    """The inputs of every key of model `ref` at `path`."""
    data = data if isinstance(data, dict) else {}
    forms = UNIONS.get(ref)
    chosen = _chosen_form(forms, data) if forms else ""
    parts = [_form_choice(forms, chosen, path)] if forms else []
    for key, node in fields_of(ref):
        html = render_value(node, key, data.get(key, MISSING), (*path, key), form, owner=ref)
        owner_form = next((name for name, keys in (forms or {}).items() if key in keys), "")
        if owner_form:
            html = format_html(
                '<div class="ed-form-part" data-ed-form="{}"{}>{}</div>',
                owner_form,
                # A key of another form that holds a value stays in sight, to be fixed.
                mark_safe(" hidden") if chosen and owner_form != chosen and key not in data else "",
                html,
            )
        parts.append(html)
    return mark_safe("".join(parts))


def _chosen_form(forms: dict[str, tuple[str, ...]], data: dict) -> str:
    return next((name for name, keys in forms.items() if any(k in data for k in keys)), "")


def _form_choice(forms: dict[str, tuple[str, ...]], chosen: str, path: tuple) -> SafeString:
    """A union's form (`when: {decision …}` or `{action …}`): shows that form's keys only.

    It has no name, so it is not posted: the keys given say which form it is.
    """
    anchor = field_anchor(path) + "--form"
    options = "".join(
        format_html(
            '<option value="{}"{}>{}</option>',
            name,
            mark_safe(" selected") if name == chosen else "",
            name or "—",
        )
        for name in ["", *forms]
    )
    return format_html(
        '<div class="ed-field ed-union"><label for="{}">{}</label>'
        '<select id="{}" data-ed-union>{}</select></div>',
        anchor,
        _("forme"),
        anchor,
        mark_safe(options),
    )


def render_value(
    node: Node, key: str, value: Any, path: tuple, form: Form, owner: str = ROOT
) -> SafeString:
    if node.kind == "object":
        if _recursive(node.ref):
            return _slot(node, key, value, path, form)
        return _fieldset(node.ref, _named(key), value, path, form)
    if node.kind in ("list", "pairs"):
        return _list(node, key, value, path, form)
    return _scalar(node, key, value, path, form, owner)


def _named(key) -> SafeString:
    """The key's French name, with the key the format guide uses beside it."""
    name = key_label(key)
    if name == str(key):
        return format_html('<code class="ed-key">{}</code>', key)
    return format_html('{} <code class="ed-key">{}</code>', name, key)


def _fieldset(ref: str, legend: str, value: Any, path: tuple, form: Form) -> SafeString:
    return format_html(
        '<fieldset class="ed-obj" id="{}"><legend>{}</legend>{}</fieldset>',
        field_anchor(path),
        legend,
        render_fields(ref, value, path, form),
    )


def _tools(label: str, *, movable: bool) -> SafeString:
    buttons = []
    if movable:
        buttons.append(
            format_html(
                '<button type="button" class="'
                + TOOL
                + '" data-ed-move="-1" aria-label="{}">↑</button>'
                '<button type="button" class="'
                + TOOL
                + '" data-ed-move="1" aria-label="{}">↓</button>',
                _("Monter : %(item)s") % {"item": label},
                _("Descendre : %(item)s") % {"item": label},
            )
        )
    buttons.append(
        format_html(
            '<button type="button" class="' + TOOL + '" data-ed-remove aria-label="{}">✕</button>',
            _("Retirer : %(item)s") % {"item": label},
        )
    )
    return format_html('<div class="ed-tools">{}</div>', mark_safe("".join(buttons)))


def _add_button(key: str, template: str, *, hidden: bool = False) -> SafeString:
    return format_html(
        '<button type="button" class="' + ADD + '" data-ed-add="{}"{}>{}</button>',
        template,
        mark_safe(" hidden") if hidden else "",
        _("Ajouter : %(key)s") % {"key": key_label(key)},
    )


def _slot(node: Node, key: str, value: Any, path: tuple, form: Form) -> SafeString:
    """An optional model that may hold itself: added on demand, not rendered empty."""
    present = isinstance(value, dict)
    inner = ""
    if present:
        inner = format_html(
            '<div class="ed-item">{}{}</div>',
            _tools(key_label(key), movable=False),
            _fieldset(node.ref, _named(key), value, path, form),
        )
    return format_html(
        '<div class="ed-slot" data-prefix="{}" data-key="{}">{}{}</div>',
        path_name(path),
        key,
        inner,
        _add_button(key, "t-" + node.ref, hidden=present),  # hidden: it is there
    )


def _list(node: Node, key: str, value: Any, path: tuple, form: Form) -> SafeString:
    items = value if isinstance(value, list) else []
    if node.kind == "pairs" and isinstance(value, dict):
        items = [dict(zip(PAIR_KEYS, pair, strict=True)) for pair in value.items()]
    folded = len(path) == 1  # the scenario's own lists: one line per item until opened
    rendered = [
        _item(node.item.ref, key, item, (*path, index), form, folded=folded)
        for index, item in enumerate(items)
    ]
    return format_html(
        '<fieldset class="ed-list" id="{}" data-prefix="{}" data-key="{}">'
        '<legend>{}</legend><div class="ed-items">{}</div>{}</fieldset>',
        field_anchor(path),
        path_name(path),
        key,
        _named(key),
        mark_safe("".join(rendered)),
        _add_button(key, "t-" + node.item.ref),
    )


def item_label(key: str, item: Any, index: int | str) -> str:
    if isinstance(item, dict) and item.get("id"):
        title = next((item[k] for k in ITEM_TITLES if item.get(k)), "")
        return f"{item['id']} — {title}" if title else str(item["id"])
    return f"{key} {index + 1 if isinstance(index, int) else ''}".strip()


def _item(ref: str, key: str, item: Any, path: tuple, form: Form, *, folded: bool) -> SafeString:
    label = item_label(key, item, path[-1])
    body = _fieldset(ref, label, item, path, form)
    if folded:
        body = format_html(
            '<details class="ed-fold"><summary>{}</summary>{}</details>', label, body
        )
    return format_html('<div class="ed-item">{}{}</div>', _tools(label, movable=True), body)


def _scalar(node: Node, key: str, value: Any, path: tuple, form: Form, owner: str) -> SafeString:
    anchor = field_anchor(path)
    text = scalar_text(node, value)
    required = (
        mark_safe(' <span class="ed-req" aria-hidden="true">*</span>') if node.required else ""
    )
    aria = mark_safe(' aria-required="true"') if node.required else ""
    label = format_html('<label for="{}">{}{}</label>', anchor, _named(key), required)
    name = path_name(path)
    if node.kind == "enum" or node.kind == "boolean":
        choices = (
            [(TRUE, _("oui")), (FALSE, _("non"))]
            if node.kind == "boolean"
            else [(choice, choice) for choice in node.choices]
        )
        if text and text not in [c for c, _label in choices]:
            choices.append((text, text))  # an invalid value stays visible to be fixed
        options = "".join(
            format_html(
                '<option value="{}"{}>{}</option>',
                choice,
                mark_safe(" selected") if choice == text else "",
                shown,
            )
            for choice, shown in [("", _blank_choice(node)), *choices]
        )
        control = format_html(
            '<select id="{}" name="{}"{}>{}</select>', anchor, name, aria, mark_safe(options)
        )
    elif node.kind in ("markdown", "lines"):
        control = format_html(
            '<textarea id="{}" name="{}" rows="{}"{}>\n{}</textarea>',
            anchor,
            name,
            3 if node.kind == "markdown" else 2,
            aria,
            text,
        )
    else:
        extra = []
        namespace = REFERENCES.get((owner, key)) or REFERENCES.get(("*", key))
        if node.kind == "ids":
            namespace = "roles"
            extra.append(mark_safe(f' aria-describedby="{IDS_HELP}" data-ed-help="{IDS_HELP}"'))
        if namespace:
            extra.append(format_html(' list="dl-{}"', namespace))
        if node.kind == "duration":
            extra.append(format_html(' class="ed-duration" placeholder="{}"', "1h30m"))
        if node.kind == "integer":
            extra.append(mark_safe(' inputmode="numeric"'))
        control = format_html(
            '<input type="text" id="{}" name="{}" value="{}"{}{}>',
            anchor,
            name,
            text,
            aria,
            mark_safe("".join(extra)),
        )
    return format_html('<div class="ed-field">{}{}</div>', label, control)


def _blank_choice(node: Node) -> str:
    """The empty choice; on a yes/no key, it says what leaving it out means."""
    if node.kind == "boolean" and isinstance(node.default, bool):
        return _("— (par défaut : %(value)s)") % {"value": _("oui") if node.default else _("non")}
    return "—"


def render_templates(form: Form) -> SafeString:
    """One <template> per model: a new item of it, at PLACEHOLDER."""
    parts = []
    for ref in model_refs():
        if ref == ROOT:
            continue
        item = format_html(
            '<div class="ed-item">{}{}</div>',
            _tools(ref, movable=True),
            _fieldset(ref, ref, {}, (PLACEHOLDER,), form),
        )
        parts.append(format_html('<template id="t-{}">{}</template>', ref, item))
    return mark_safe("".join(parts))


def render_datalists(form: Form) -> SafeString:
    return mark_safe(
        "".join(
            format_html(
                '<datalist id="dl-{}">{}</datalist>',
                namespace,
                mark_safe("".join(format_html('<option value="{}">', ident) for ident in ids)),
            )
            for namespace, ids in form.suggestions.items()
        )
    )

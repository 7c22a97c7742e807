"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models

from simtrain.text import may_hold_invalid, repair


class TextSafeJSONField(models.JSONField):
    """A JSONField whose values, as read, hold only text that can be encoded.

    Text is checked where it comes in (`simtrain.text`); a value stored before that
    check, or written around it, is repaired as it is read — every lone surrogate
    becomes U+FFFD — so that no stored value can make a screen, a socket frame or an
    export fail. The column and the migrations are those of a plain JSONField
    (`deconstruct`): only reading changes. `manage.py repair_text` fixes the rows.
    """

    def from_db_value(self, value, expression, connection):
        raw = value
        value = super().from_db_value(value, expression, connection)
        if isinstance(raw, str) and may_hold_invalid(raw):
            value = repair(value)
        return value

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

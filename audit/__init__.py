"""The append-only, hash-chained audit trail. Call ``audit.record(...)`` in every audited write.

The trail is imported when used: this package is imported while Django loads its apps, before
the models the trail needs may be (app loading, not an import cycle).
"""


def record(**kwargs):
    from .trail import record as _record

    return _record(**kwargs)


def snapshot(obj, fields=None):
    from .trail import snapshot as _snapshot

    return _snapshot(obj, fields)

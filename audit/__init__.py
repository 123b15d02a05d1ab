"""The append-only, hash-chained audit trail. Call ``audit.record(...)`` in every audited write."""


def record(**kwargs):
    from .trail import record as _record

    return _record(**kwargs)


def snapshot(obj, fields=None):
    from .trail import snapshot as _snapshot

    return _snapshot(obj, fields)

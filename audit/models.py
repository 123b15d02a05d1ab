from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One write by a person (or the system), append-only and hash-chained.

    The database refuses UPDATE and DELETE on this table (see the migration's triggers). Each
    entry's hash covers its own fields and the previous entry's hash, and ``seq`` counts without
    gaps, so `audit_verify` notices an entry changed, removed or inserted out of order.
    Nothing here points at other tables with a foreign key: an entry outlives what it describes.
    """

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("when"))
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor = models.CharField(_("who"), max_length=254, help_text=_("Email, or “system”."))
    actor_roles = models.CharField(_("roles"), max_length=500, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor_id"]),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_repr}"

from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingJob(models.Model):
    """A task the broker could not take when it was sent; the beat sends it again."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("pending job")
        verbose_name_plural = _("pending jobs")

    def __str__(self):
        return self.task

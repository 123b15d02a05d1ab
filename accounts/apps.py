from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def cache_table_create(sender, using="default", **kwargs):
    """The embedded stack keeps its cache in the database (config/settings.py): its table is made
    by `migrate`, with the others. With Redis there is no such cache and nothing to make."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import signals  # noqa: F401 -- connects the audit receivers

        post_migrate.connect(cache_table_create, sender=self)

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in. People sign in with their email address; there is no username."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    # Part of the session hash: bumping it (when the person's roles change) ends every session.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    notify_voting_opens = models.BooleanField(_("email me when voting opens"), default=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.get_full_name() or self.email

    def _get_session_auth_hash(self, secret=None):
        # Django's hash covers the password only: a password change ends other sessions. Ours
        # also covers the epoch, so a change of role ends them too.
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class StaffRole(models.Model):
    """A role held outside the commune structure: ministry, co-funder, cycle admin, officer.

    Residents and spokespeople are not granted here: those roles follow from the census record a
    person has claimed and from the spokesperson terms recorded for it.
    """

    class Kind(models.TextChoices):
        MINISTRY_STAFF = "ministry_staff", _("Ministry staff")
        COFUNDER_STAFF = "cofunder_staff", _("Co-funder staff")
        CYCLE_ADMIN = "cycle_admin", _("Cycle admin")
        POLLING_OFFICER = "polling_officer", _("Polling officer")

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="staff_roles", verbose_name=_("user")
    )
    kind = models.CharField(_("role"), max_length=32, choices=Kind.choices)
    state = models.ForeignKey(
        "communes.State",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("state"),
        help_text=_("Leave empty for the whole nation."),
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "state"],
                condition=models.Q(state__isnull=False),
                name="accounts_staffrole_unique_in_state",
            ),
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=models.Q(state__isnull=True),
                name="accounts_staffrole_unique_national",
            ),
            # Co-funder staff act for a state government: they always have a territory.
            models.CheckConstraint(
                condition=~models.Q(kind="cofunder_staff") | models.Q(state__isnull=False),
                name="accounts_staffrole_cofunder_has_state",
            ),
        ]

    def __str__(self):
        scope = self.state.name if self.state_id else _("nation")
        return f"{self.get_kind_display()} · {scope}"

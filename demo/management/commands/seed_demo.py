"""Realistic demo data on the real territory: communes, councils, a census, spokespeople, one
account per role, three rounds and the money of the published one. Deterministic and safe to
run again: the same codes and cédulas every time, and nothing made twice."""

import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from demo import money, people, rounds, territory


class Command(BaseCommand):
    help = "Build (or refresh) the demo communes, census, spokespeople and one account per role."

    def handle(self, *args, **options):
        rng = random.Random(2026)
        now = timezone.now()
        with transaction.atomic():
            home = territory.registry_seed(rng)
            territory.voting_centres_seed(home)
            territory.census_seed(rng)
            territory.spokespeople_seed(rng)
            accounts = people.accounts_seed(home)
            round_lines = rounds.rounds_seed(rng, now=now)
            money_accounts, money_lines = money.money_seed(home, now=now)
            accounts[-1:-1] = money_accounts  # before the line of residents with a claim
        self.stdout.write(self.style.SUCCESS(_("Demo data ready.")))
        self.stdout.write(
            _("Demo accounts (password for all: %(password)s):") % {"password": people.PASSWORD}
        )
        for email, role in accounts:
            self.stdout.write(f"  {email:<42} {role}")
        self.stdout.write(
            _(
                "Staff accounts ask for a two-step verification code: add the secret %(secret)s "
                "to an authenticator app (or run: oathtool --totp -b %(secret)s)."
            )
            % {"secret": people.TOTP_SECRET}
        )
        for line in [*round_lines, *money_lines]:
            self.stdout.write(line)

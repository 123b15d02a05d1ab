"""Every write to the commune registry goes through one of these functions."""

import datetime
import hashlib
import os

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from accounts import permissions

from . import files
from .cedula import cedula_normalise
from .models import (
    SPOKESPERSON_TERM_YEARS,
    Commune,
    CommuneFile,
    Resident,
    ResidentClaim,
    Spokesperson,
)


def _claim_not_found() -> ValidationError:
    # One message for "no such cédula" and "wrong birth date": the census must not be enumerable.
    return ValidationError(
        _(
            "We found no census record with that cédula and birth date. Check both, or ask a "
            "spokesperson of your commune to look you up."
        ),
        code="not_found",
    )


@transaction.atomic
def resident_claim_create(*, user, cedula: str, birth_date: datetime.date) -> ResidentClaim:
    """Ask to be recognised as the person of a census record.

    A record held by another account (claimed and waiting, or verified) cannot be claimed, and an
    account holds at most one record: the database refuses both even when two requests race.
    """
    permissions.require(user, "communes.claim_census_record")
    normalised = cedula_normalise(cedula)
    resident = (
        Resident.objects.select_for_update()
        .filter(cedula=normalised, birth_date=birth_date)
        .first()
    )
    if resident is None:
        raise _claim_not_found()
    open_claims = ResidentClaim.objects.filter(
        status__in=[ResidentClaim.Status.PENDING, ResidentClaim.Status.APPROVED]
    )
    if open_claims.filter(user=user).exists():
        raise ValidationError(
            _("Your account already has a census record or a claim waiting for verification."),
            code="user_has_claim",
        )
    if open_claims.filter(resident=resident).exists() or resident.user_id is not None:
        raise ValidationError(
            _(
                "This census record is already held by another account. If you think this is "
                "a mistake, ask a spokesperson of your commune."
            ),
            code="held_by_other",
        )
    try:
        with transaction.atomic():
            claim = ResidentClaim.objects.create(resident=resident, user=user)
    except IntegrityError as exc:  # a concurrent claim (for this record or by this user) won
        raise ValidationError(
            _("Another claim was recorded at the same moment; reload the page to see it."),
            code="concurrent_claim",
        ) from exc
    audit.record(actor=user, action="census_claim.create", obj=claim, after=audit.snapshot(claim))
    return claim


def _claim_for_decision(*, claim: ResidentClaim, by) -> ResidentClaim:
    locked = (
        ResidentClaim.objects.select_for_update()
        .select_related("resident__council__commune__parish__municipality")
        .get(pk=claim.pk)
    )
    permissions.require(by, "communes.decide_claim", locked)
    if locked.status != ResidentClaim.Status.PENDING:
        raise ValidationError(
            _("This claim was already decided: %(status)s.")
            % {"status": locked.get_status_display()},
            code="already_decided",
        )
    return locked


@transaction.atomic
def resident_claim_approve(*, claim: ResidentClaim, by) -> ResidentClaim:
    """Verify a pending claim: the census record now belongs to the claimant's account."""
    locked = _claim_for_decision(claim=claim, by=by)
    before = audit.snapshot(locked)
    now = timezone.now()
    locked.status = ResidentClaim.Status.APPROVED
    locked.decided_by = by
    locked.decided_at = now
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    Resident.objects.filter(pk=locked.resident_id).update(
        user=locked.user_id,
        verification=Resident.Verification.VERIFIED,
        verified_by=by,
        verified_at=now,
    )
    audit.record(
        actor=by,
        action="census_claim.approve",
        obj=locked,
        before=before,
        after=audit.snapshot(locked),
    )
    permissions.roles_changed(locked.user)
    return locked


@transaction.atomic
def resident_claim_reject(*, claim: ResidentClaim, by, reason: str) -> ResidentClaim:
    """Reject a pending claim with a reason; the record is free to be claimed again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the claim is rejected."), code="reason_required")
    locked = _claim_for_decision(claim=claim, by=by)
    before = audit.snapshot(locked)
    now = timezone.now()
    locked.status = ResidentClaim.Status.REJECTED
    locked.decided_by = by
    locked.decided_at = now
    locked.rejection_reason = reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    Resident.objects.filter(pk=locked.resident_id, user__isnull=True).update(
        verification=Resident.Verification.REJECTED, verified_by=by, verified_at=now
    )
    audit.record(
        actor=by,
        action="census_claim.reject",
        obj=locked,
        before=before,
        after=audit.snapshot(locked),
    )
    return locked


@transaction.atomic
def commune_convert_circuit(*, commune: Commune, on: datetime.date, by) -> Commune:
    """A communal circuit becomes a commune. Same row, so its councils, people and history stay."""
    locked = Commune.objects.select_for_update().get(pk=commune.pk)
    if locked.kind != Commune.Kind.CIRCUIT:
        raise ValidationError(
            _("Only a communal circuit can become a commune."), code="not_circuit"
        )
    if on < locked.registered_on:
        raise ValidationError(
            _("The date of becoming a commune cannot precede its registration."),
            code="before_registration",
        )
    before = audit.snapshot(locked, ["kind", "became_commune_on"])
    locked.kind = Commune.Kind.COMMUNE
    locked.became_commune_on = on
    locked.save(update_fields=["kind", "became_commune_on"])
    audit.record(
        actor=by,
        action="commune.convert_circuit",
        obj=locked,
        before=before,
        after=audit.snapshot(locked, ["kind", "became_commune_on"]),
    )
    return locked


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@transaction.atomic
def spokesperson_appoint(
    *,
    resident: Resident,
    commune: Commune,
    unit: str,
    standing: str = Spokesperson.Standing.PRINCIPAL,
    term_start: datetime.date,
    by,
) -> Spokesperson:
    """Record an elected spokesperson for a three-year term.

    The resident must live in the commune and holds one unit at a time: a term not yet ended
    elsewhere must be ended first (the database refuses a second open term even under a race).
    """
    locked = Resident.objects.select_for_update().select_related("council").get(pk=resident.pk)
    if locked.council.commune_id != commune.pk:
        raise ValidationError(
            _("A spokesperson must be a resident of the commune they serve."),
            code="not_resident_of_commune",
        )
    if Spokesperson.objects.filter(resident=locked, ended_on__isnull=True).exists():
        raise ValidationError(
            _("%(name)s already holds a unit; end that term first.") % {"name": locked.full_name},
            code="already_holds_unit",
        )
    try:
        with transaction.atomic():
            term = Spokesperson.objects.create(
                resident=locked,
                commune=commune,
                unit=unit,
                standing=standing,
                term_start=term_start,
                term_end=_add_years(term_start, SPOKESPERSON_TERM_YEARS),
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("%(name)s already holds a unit; end that term first.") % {"name": locked.full_name},
            code="already_holds_unit",
        ) from exc
    audit.record(actor=by, action="spokesperson.appoint", obj=term, after=audit.snapshot(term))
    if locked.user_id:
        permissions.roles_changed(locked.user)
    return term


@transaction.atomic
def spokesperson_end_term(*, spokesperson: Spokesperson, on: datetime.date, by) -> Spokesperson:
    locked = (
        Spokesperson.objects.select_for_update(of=("self",))
        .select_related("resident__user")
        .get(pk=spokesperson.pk)
    )
    if locked.ended_on is not None:
        raise ValidationError(_("This term has already ended."), code="already_ended")
    if on < locked.term_start:
        raise ValidationError(_("A term cannot end before it starts."), code="before_start")
    locked.ended_on = on
    locked.save(update_fields=["ended_on"])
    audit.record(
        actor=by,
        action="spokesperson.end_term",
        obj=locked,
        before={"ended_on": None},
        after={"ended_on": on},
    )
    if locked.resident.user_id:
        permissions.roles_changed(locked.resident.user)
    return locked


@transaction.atomic
def commune_file_store(
    *, commune: Commune, uploaded, by, is_public: bool = False, allowed=files.ALL_KINDS
) -> CommuneFile:
    """Keep an upload for a commune: checked by content, cleaned, stored under a random name."""
    permissions.require(by, "communes.upload_file", commune)
    kind, data = files.upload_check(uploaded, allowed=allowed)
    original_name = os.path.basename(uploaded.name or "")[:255] or kind
    stored = CommuneFile(
        commune=commune,
        kind=kind,
        original_name=original_name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        is_public=is_public,
        uploaded_by=by,
    )
    stored.file.save(files.storage_name(kind), ContentFile(data), save=False)
    try:
        stored.save(force_insert=True)
        audit.record(
            actor=by,
            action="commune_file.store",
            obj=stored,
            after=audit.snapshot(stored, ["commune_id", "kind", "original_name", "size", "sha256"]),
        )
    except Exception:
        stored.file.delete(save=False)  # no row, so no file either
        raise
    return stored

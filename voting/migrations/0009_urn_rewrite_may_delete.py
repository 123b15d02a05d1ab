"""The urn stays append-only, except for the close-of-voting rewrite (voting.closing), which
deletes a round's ballots and writes them again in the same transaction: on PostgreSQL it says so
with a transaction-local setting the trigger reads (ALTER TABLE would take an exclusive lock, and
is refused while the transaction has deferred constraint checks pending).

On SQLite, migration 0004 rebuilt the voting book's and the urn's tables (SQLite alters a table by
copying it), which dropped their append-only triggers: they are made again here."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION voting_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'voting_sealedballot'
       AND current_setting('comunas.urn_rewrite', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the voting book and the urn are append-only: %% refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""
BACKWARD = """
CREATE OR REPLACE FUNCTION voting_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the voting book and the urn are append-only: %% refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


SQLITE_TABLES = ["voting_votingbookentry", "voting_sealedballot"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)
        return
    for table in SQLITE_TABLES:
        for op in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the voting book and the urn are append-only: "
                f"{op} refused'); END;"
            )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("voting", "0008_homomorphic_urn")]
    operations = [migrations.RunPython(forward, backward)]

"""The urn stays append-only, except for the close-of-voting rewrite (voting.closing), which
deletes a round's ballots and writes them again in the same transaction: it says so with a
transaction-local setting the trigger reads. Avoids ALTER TABLE (an exclusive lock, and refused
while the transaction has deferred constraint checks pending)."""

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


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("voting", "0008_homomorphic_urn")]
    operations = [migrations.RunPython(forward, backward)]

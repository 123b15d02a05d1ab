"""The voting book and the urn are append-only: a vote is never edited or removed.

An UPDATE would also leave the old row version behind in the table's pages (DESIGN.md §4).
"""

from django.db import migrations

TABLES = ["voting_votingbookentry", "voting_sealedballot"]

POSTGRES_FORWARD = """
CREATE FUNCTION voting_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the voting book and the urn are append-only: %% refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION voting_refuse_change();
"""
    for table in TABLES
)
POSTGRES_BACKWARD = "".join(
    f"DROP TRIGGER {table}_append_only ON {table};\n" for table in TABLES
) + "DROP FUNCTION voting_refuse_change();"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)
    else:
        for table in TABLES:
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'the voting book and the urn are append-only: "
                    f"{op} refused'); END;"
                )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    else:
        for table in TABLES:
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER {table}_no_{op};")


class Migration(migrations.Migration):
    dependencies = [("voting", "0001_urn_voting_book_results")]
    operations = [migrations.RunPython(forward, backward)]

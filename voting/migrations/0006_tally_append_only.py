"""Tally-sheet entries, their history and the book's conflicts are append-only, like the book.

A sheet's accepted figures live on the sheet (decided once); what the officers entered and every
step of its review stay as they were written, for the public history.
"""

from django.db import migrations

TABLES = ["voting_tallyentry", "voting_sheetevent", "voting_bookconflict"]


def forward(apps, schema_editor):
    for table in TABLES:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION voting_refuse_change();"
            )
        else:
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'append-only: {op} refused'); END;"
                )


def backward(apps, schema_editor):
    for table in TABLES:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER {table}_append_only ON {table};")
        else:
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER {table}_no_{op};")


class Migration(migrations.Migration):
    dependencies = [("voting", "0005_voting_tables")]

    operations = [migrations.RunPython(forward, backward)]

"""The ledger is append-only: a correction is a new reversing entry, never an edit or a delete."""

from django.db import migrations

TABLE = "funding_ledgerentry"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE FUNCTION funding_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the ledger is append-only: %% refused', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$;"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION funding_refuse_change();"
        )
    else:
        for op in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE} BEGIN "
                f"SELECT RAISE(ABORT, 'the ledger is append-only: {op} refused'); END;"
            )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER {TABLE}_append_only ON {TABLE};")
        schema_editor.execute("DROP FUNCTION funding_refuse_change();")
    else:
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER {TABLE}_no_{op};")


class Migration(migrations.Migration):
    dependencies = [("funding", "0001_money")]

    operations = [migrations.RunPython(forward, backward)]

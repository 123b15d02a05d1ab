from django.db import migrations


def load(apps, schema_editor):
    from communes.territory import territory_load

    territory_load(
        apps.get_model("communes", "State"),
        apps.get_model("communes", "Municipality"),
        apps.get_model("communes", "Parish"),
    )


class Migration(migrations.Migration):
    dependencies = [("communes", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

import pytest
from django.core.management import CommandError, call_command

from communes.models import CommunalCouncil, Commune, Resident

pytestmark = pytest.mark.django_db

COMMUNES_HEADER = "code,name,kind,parish_code,registered_on,status,bank_account\n"
RESIDENTS_HEADER = "cedula,full_name,birth_date,council_code\n"


@pytest.fixture
def write(tmp_path):
    def write(name, text):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def run(command, path, *args):
    return call_command(command, path, "--no-progress", *args)


def test_clean_communes_file_is_imported(write, capsys):
    path = write(
        "communes.csv",
        COMMUNES_HEADER
        + "COM-1,Comuna El Maizal,comuna,130301,2014-03-02,activa,01020304050607080910\n"
        + "COM-2,Circuito Comunal Las Flores,circuit,010101,2019-11-20,,\n",
    )
    run("import_communes", path)
    assert Commune.objects.count() == 2
    maizal = Commune.objects.get(code="COM-1")
    assert maizal.kind == Commune.Kind.COMMUNE
    assert maizal.parish.name == "Catedral"
    assert maizal.bank_account == "01020304050607080910"
    assert "2 created" in capsys.readouterr().out.replace("creados", "created")


def test_a_bad_row_changes_nothing_and_is_named_by_line(write, capsys):
    path = write(
        "communes.csv",
        COMMUNES_HEADER
        + "COM-1,Comuna El Maizal,commune,130301,2014-03-02,,\n"
        + "COM-2,Comuna Sin Parroquia,commune,999999,2014-03-02,,\n"
        + "COM-3,Comuna Fecha Mala,commune,130301,02/03/2014,,\n"
        + "COM-1,Comuna Repetida,commune,130301,2014-03-02,,\n",
    )
    with pytest.raises(CommandError):
        run("import_communes", path)
    assert Commune.objects.count() == 0
    errors = capsys.readouterr().err
    assert f"{path}:3: No hay parroquia con el código «999999»." in errors
    assert f"{path}:4:" in errors and "AAAA-MM-DD" in errors
    assert f"{path}:5: «COM-1» ya aparece en la línea 2." in errors


def test_skip_invalid_imports_the_good_rows(write):
    path = write(
        "communes.csv",
        COMMUNES_HEADER
        + "COM-1,Comuna El Maizal,commune,130301,2014-03-02,,\n"
        + "COM-2,Comuna Tipo Raro,kingdom,130301,2014-03-02,,\n",
    )
    run("import_communes", path, "--skip-invalid")
    assert list(Commune.objects.values_list("code", flat=True)) == ["COM-1"]


def test_missing_column_is_reported_before_any_row(write):
    path = write("communes.csv", "code,name\nCOM-1,Comuna\n")
    with pytest.raises(CommandError, match="parish_code"):
        run("import_communes", path)


@pytest.fixture
def council(commune_a):
    return CommunalCouncil.objects.create(
        commune=commune_a, code="CC-9", name="Consejo Comunal La Ceiba", families=200
    )


def test_residents_are_imported_with_their_cedula_normalised(write, council):
    path = write(
        "census.csv",
        RESIDENTS_HEADER
        + "v12345678,Ana Rojas,1990-01-31,CC-9\n"
        + "E-8.123.456,Luis Parra,1961-12-01,CC-9\n",
    )
    run("import_residents", path)
    assert set(Resident.objects.values_list("cedula", flat=True)) == {"V-12345678", "E-8123456"}


def test_rerunning_the_same_census_changes_nothing(write, council, capsys):
    path = write("census.csv", RESIDENTS_HEADER + "V-12345678,Ana Rojas,1990-01-31,CC-9\n")
    run("import_residents", path)
    before = list(Resident.objects.values())
    capsys.readouterr()
    run("import_residents", path)
    assert list(Resident.objects.values()) == before
    out = capsys.readouterr().out
    assert "0 creados" in out and "0 actualizados" in out and "1 sin cambios" in out


def test_a_corrected_census_updates_the_record_but_not_its_verification(write, council, carla):
    run(
        "import_residents",
        write("a.csv", RESIDENTS_HEADER + "V-12345678,Ana Rojas,1990-01-31,CC-9\n"),
    )
    Resident.objects.update(user=carla)
    run(
        "import_residents",
        write("b.csv", RESIDENTS_HEADER + "V-12345678,Ana María Rojas,1990-01-31,CC-9\n"),
    )
    resident = Resident.objects.get()
    assert resident.full_name == "Ana María Rojas"
    assert resident.user == carla


def test_bad_census_rows_are_refused_whole(write, council, capsys):
    path = write(
        "census.csv",
        RESIDENTS_HEADER
        + "V-12345678,Ana Rojas,1990-01-31,CC-9\n"
        + "12345678,Sin Letra,1990-01-31,CC-9\n"
        + "V-87654321,,1990-01-31,CC-9\n"
        + "V-7654321,Nacida Mañana,2999-01-01,CC-9\n"
        + "V-6543210,Consejo Ajeno,1980-05-05,CC-404\n"
        + "v-12.345.678,Ana Otra Vez,1990-01-31,CC-9\n"
        + "V-5555555,Demasiadas,1990-01-31,CC-9,extra\n",
    )
    with pytest.raises(CommandError, match="6"):
        run("import_residents", path)
    assert Resident.objects.count() == 0
    errors = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1] for line in errors] == ["3", "4", "5", "6", "7", "8"]


def test_skip_invalid_census_keeps_the_good_rows(write, council):
    path = write(
        "census.csv",
        RESIDENTS_HEADER
        + "V-12345678,Ana Rojas,1990-01-31,CC-9\n"
        + "12345678,Sin Letra,1990-01-31,CC-9\n",
    )
    run("import_residents", path, "--skip-invalid")
    assert list(Resident.objects.values_list("cedula", flat=True)) == ["V-12345678"]


def test_councils_import_links_them_to_communes(write, commune_a):
    path = write(
        "councils.csv",
        "code,name,commune_code,families,kind\n"
        f"CC-1,Consejo Comunal El Samán,{commune_a.code},240,urbano\n"
        f"CC-2,Consejo Comunal Kariña,{commune_a.code},90,indígena\n",
    )
    run("import_councils", path)
    assert dict(CommunalCouncil.objects.values_list("code", "kind")) == {
        "CC-1": "urban",
        "CC-2": "indigenous",
    }


def test_an_import_does_not_turn_a_commune_into_a_circuit(write, commune_a):
    path = write(
        "communes.csv",
        COMMUNES_HEADER + f"{commune_a.code},{commune_a.name},circuit,010101,2020-05-01,,\n",
    )
    with pytest.raises(CommandError):
        run("import_communes", path)
    commune_a.refresh_from_db()
    assert commune_a.kind == Commune.Kind.COMMUNE


def test_a_file_that_is_not_utf8_text_is_refused(tmp_path):
    path = tmp_path / "census.csv"
    path.write_bytes(
        b"cedula,full_name,birth_date,council_code\nV-1234567,Mu\xf1oz,1990-01-01,CC\n"
    )
    with pytest.raises(CommandError, match="UTF-8"):
        run("import_residents", str(path))

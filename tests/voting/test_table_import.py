"""Importing voting centres and tables from CSV files, by command and for the upload page."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from communes.importing import import_csv
from voting.models import VotingBookEntry, VotingCentre, VotingTable
from voting.table_import import TABLES, tables_import

from ..builders import make_resident, make_user

pytestmark = pytest.mark.django_db

CENTRES_HEADER = "code,name,parish_code,address\n"
TABLES_HEADER = "centre_code,number,commune_code\n"
CENTRES = (
    CENTRES_HEADER
    + "U-0101-01,Escuela Básica Bolivariana Altagracia,010101,Esquina de Carmelitas\n"
    + "ccl-1303,Casa comunal El Cují,130301,\n"
)


@pytest.fixture
def write(tmp_path):
    def write(name, text):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def run(command, path, *args):
    return call_command(command, path, "--no-progress", *args)


@pytest.fixture
def centres(write):
    run("import_voting_centres", write("centres.csv", CENTRES))
    return VotingCentre.objects.all()


def tables_file(commune_a, commune_b):
    return (
        TABLES_HEADER
        + f"U-0101-01,1,{commune_a.code}\n"
        + f"U-0101-01,2,{commune_a.code}\n"
        + f"CCL-1303,1,{commune_b.code}\n"
    )


def test_clean_centres_and_tables_files_are_imported(write, commune_a, commune_b, capsys):
    run("import_voting_centres", write("centres.csv", CENTRES))
    school = VotingCentre.objects.get(code="U-0101-01")
    assert school.parish.code == "010101" and school.address == "Esquina de Carmelitas"
    assert VotingCentre.objects.get(code="CCL-1303").address == ""  # codes are upper-cased

    run("import_voting_tables", write("tables.csv", tables_file(commune_a, commune_b)))
    tables = {table.code: table for table in VotingTable.objects.select_related("centre")}
    assert set(tables) == {"U-0101-01-1", "U-0101-01-2", "CCL-1303-1"}
    assert tables["U-0101-01-2"].number == 2 and tables["U-0101-01-2"].centre == school
    assert tables["CCL-1303-1"].commune == commune_b
    assert "3" in capsys.readouterr().out


def test_bad_rows_are_named_by_line_and_nothing_is_written(write, centres, commune_a, capsys):
    path = write(
        "tables.csv",
        TABLES_HEADER
        + f"U-0101-01,1,{commune_a.code}\n"
        + f"NO-SUCH,1,{commune_a.code}\n"
        + "U-0101-01,2,COM-NOWHERE\n"
        + f"U-0101-01,0,{commune_a.code}\n"
        + f"U-0101-01,dos,{commune_a.code}\n"
        + f"u-0101-01,01,{commune_a.code}\n"
        + f"U 0101,3,{commune_a.code}\n",
    )
    with pytest.raises(CommandError):
        run("import_voting_tables", path)
    assert not VotingTable.objects.exists()
    errors = capsys.readouterr().err
    assert f"{path}:3:" in errors and "NO-SUCH" in errors
    assert f"{path}:4:" in errors and "COM-NOWHERE" in errors
    assert f"{path}:5:" in errors and f"{path}:6:" in errors and "dos" in errors
    assert f"{path}:7:" in errors and "U-0101-01-1" in errors  # the same table as line 2
    assert f"{path}:8:" in errors
    assert f"{path}:2:" not in errors


def test_a_bad_centre_changes_nothing(write):
    path = write(
        "centres.csv",
        CENTRES_HEADER
        + "C-1,Escuela,010101,\n"
        + "C-2,Liceo,999999,\n"
        + "C_3,Liceo,010101,\n"
        + "C-4,,010101,\n",
    )
    with pytest.raises(CommandError):
        run("import_voting_centres", path)
    assert not VotingCentre.objects.exists()


def test_skip_invalid_imports_the_good_tables(write, centres, commune_a):
    path = write(
        "tables.csv",
        TABLES_HEADER + f"U-0101-01,1,{commune_a.code}\nU-0101-01,2,COM-NOWHERE\n",
    )
    run("import_voting_tables", path, "--skip-invalid")
    assert list(VotingTable.objects.values_list("code", flat=True)) == ["U-0101-01-1"]


def test_missing_column_is_reported_before_any_row(write, centres):
    path = write("tables.csv", "centre_code,number\nU-0101-01,1\n")
    with pytest.raises(CommandError, match="commune_code"):
        run("import_voting_tables", path)


def test_running_the_same_files_again_changes_nothing(write, centres, commune_a, commune_b):
    path = write("tables.csv", tables_file(commune_a, commune_b))
    run("import_voting_tables", path)
    before = list(VotingTable.objects.order_by("code").values())
    run("import_voting_tables", path)
    run("import_voting_centres", write("centres.csv", CENTRES))
    assert list(VotingTable.objects.order_by("code").values()) == before
    assert VotingCentre.objects.count() == 2
    again = import_csv(io.StringIO(tables_file(commune_a, commune_b)), spec=TABLES, progress=False)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_table_moves_to_another_commune_while_nobody_voted_at_it(
    write, centres, commune_a, commune_b
):
    run("import_voting_tables", write("tables.csv", tables_file(commune_a, commune_b)))
    moved = TABLES_HEADER + f"U-0101-01,2,{commune_b.code}\n"
    run("import_voting_tables", write("moved.csv", moved))
    assert VotingTable.objects.get(code="U-0101-01-2").commune == commune_b


def test_a_table_with_marks_in_the_voting_book_keeps_its_commune(
    write, centres, commune_a, commune_b, council_a, live_round, capsys
):
    run("import_voting_tables", write("tables.csv", tables_file(commune_a, commune_b)))
    table = VotingTable.objects.get(code="U-0101-01-1")
    VotingBookEntry.objects.create(
        consultation=live_round,
        resident=make_resident(council_a, "V-30111222", "Petra Linares"),
        commune=commune_a,
        channel=VotingBookEntry.Channel.TABLE,
        voted_at=live_round.voting_opens_at + datetime.timedelta(minutes=5),
        table=table,
        marked_by=make_user("oficial@example.org"),
    )
    path = write(
        "moved.csv",
        TABLES_HEADER + f"U-0101-01,2,{commune_b.code}\nU-0101-01,1,{commune_b.code}\n",
    )
    with pytest.raises(CommandError):
        run("import_voting_tables", path)
    assert f"{path}:3:" in capsys.readouterr().err
    # The whole file is refused: the table without marks did not move either.
    assert set(VotingTable.objects.values_list("code", "commune")) == {
        ("U-0101-01-1", commune_a.pk),
        ("U-0101-01-2", commune_a.pk),
        ("CCL-1303-1", commune_b.pk),
    }


def test_the_upload_page_import_is_for_cycle_admins(centres, commune_a, commune_b, adam, mina):
    lines = io.StringIO(tables_file(commune_a, commune_b))
    with pytest.raises(PermissionDenied):
        tables_import(kind="tables", lines=lines, by=mina)
    assert not VotingTable.objects.exists()

    report = tables_import(kind="tables", lines=io.StringIO(lines.getvalue()), by=adam)
    assert report.written and report.created == 3 and not report.errors
    entry = AuditEntry.objects.get(action="voting.import_tables")
    assert entry.actor == adam.email


def test_the_upload_page_import_reports_bad_rows_without_writing(centres, adam):
    report = tables_import(
        kind="centres",
        lines=io.StringIO(CENTRES_HEADER + "C-1,Escuela,010101,\nC-2,Liceo,999999,\n"),
        by=adam,
    )
    assert not report.written
    assert [error.line for error in report.errors] == [3]
    assert not VotingCentre.objects.filter(code="C-1").exists()

"""The management commands: import_scenario, export_scenario, scenario_schema."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from scenarios.format.schema import json_schema_text
from scenarios.models import Scenario, ScenarioVersion
from tests.scenarios.format_helpers import BASE, DATA, pos, value_pos
from tests.scenarios.xlsx_helpers import workbook_of

NIGERIAN_MINORS = Path(__file__).parents[2] / "fixtures" / "scenarios" / "nigerian-minors"

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


def fails(name: str, *args: str) -> tuple[CommandError, str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(name, *args, stdout=io.StringIO(), stderr=err, no_color=True)
    return caught.value, err.getvalue()


class TestImportScenario:
    def test_imports_and_prints_slug_and_version(self):
        out, err = run("import_scenario", str(DATA / "minimal.yaml"), str(DATA / "bundle"))
        assert out == "minimal v1\nbundle-example v1\n"
        assert err == ""
        out, _err = run("import_scenario", str(DATA / "minimal.yaml"))
        assert out == "minimal v1 (unchanged)\n"

    def test_warnings_go_to_stderr(self, tmp_path):
        target = tmp_path / "w.yaml"
        target.write_text(BASE.replace("    phase: p1\n", ""))
        out, err = run("import_scenario", str(target))
        assert out == "essai v1\n"
        line, col = value_pos(target.read_text(), "id: p1")
        assert err == f"{target}:{line}:{col}: warning: phase 'p1' has no inject [empty-phase]\n"

    def test_any_invalid_file_imports_nothing(self, tmp_path):
        bad = tmp_path / "bad.yaml"
        bad.write_text(BASE.replace("to: [joy]", "to: [jo]").replace("at: 1m", "at: soon"))
        error, err = fails(
            "import_scenario", str(DATA / "minimal.yaml"), str(bad), str(DATA / "full.yaml")
        )
        assert error.returncode == 1
        assert "2 errors; nothing was imported" in str(error)
        text = bad.read_text()
        to, at = pos(text, "jo]"), value_pos(text, "at: soon")
        assert err.splitlines() == [
            f"{bad}:{to[0]}:{to[1]}: error: inject 'cue1' sends to unknown role 'jo' "
            "(known: police, parquet, joy, obs) [unknown-role]",
            f"{bad}:{at[0]}:{at[1]}: error: inject 'cue1': 'at' must be a duration: seconds (90) "
            "or text like 90s, 12m, 1h30m; got 'soon' [bad-value]",
        ]
        assert not ScenarioVersion.objects.exists()
        assert not Scenario.objects.exists()

    def test_missing_path(self, tmp_path):
        error, err = fails("import_scenario", str(tmp_path / "nope.yaml"))
        assert error.returncode == 1
        assert f"{tmp_path / 'nope.yaml'}: error: " in err
        assert "[no-such-file]" in err

    def test_check_writes_nothing(self):
        out, _err = run("import_scenario", "--check", str(DATA / "full.yaml"))
        assert out == "full-example: valid (would be v1)\n"
        assert not ScenarioVersion.objects.exists()
        run("import_scenario", str(DATA / "full.yaml"))
        out, _err = run("import_scenario", "--check", str(DATA / "full.yaml"))
        assert out == "full-example: valid (identical to v1)\n"

    def test_check_reports_errors(self, tmp_path):
        bad = tmp_path / "bad.yaml"
        bad.write_text("format: simtrain.scenario/9\n")
        error, err = fails("import_scenario", "--check", str(bad))
        assert error.returncode == 1
        assert "[unsupported-format]" in err


class TestExportScenario:
    @pytest.fixture
    def imported(self):
        run("import_scenario", str(DATA / "minimal.yaml"), str(DATA / "full.yaml"))

    def test_latest_to_stdout(self, imported):
        out, _err = run("export_scenario", "minimal")
        assert out == (DATA / "minimal.yaml").read_text()  # minimal.yaml is canonical

    def test_a_given_version(self, imported, tmp_path):
        changed = tmp_path / "m.yaml"
        changed.write_text((DATA / "minimal.yaml").read_text().replace("Appel du", "Un appel du"))
        assert run("import_scenario", str(changed))[0] == "minimal v2\n"
        assert "Un appel du" in run("export_scenario", "minimal")[0]
        assert "Un appel du" not in run("export_scenario", "minimal", "--version", "1")[0]

    def test_to_a_zip_and_a_folder(self, imported, tmp_path):
        out, _err = run("export_scenario", "full-example", "-o", str(tmp_path / "f.zip"))
        assert out == f"full-example v1 written to {tmp_path / 'f.zip'}\n"
        with zipfile.ZipFile(tmp_path / "f.zip") as archive:
            assert archive.namelist()[0] == "scenario.yaml"
            assert "files/plan.png" in archive.namelist()
        run("export_scenario", "full-example", "-o", f"{tmp_path / 'dir'}/")
        assert (tmp_path / "dir" / "scenario.yaml").is_file()
        assert (tmp_path / "dir" / "files" / "pv-audition.pdf").is_file()
        out, _err = run("import_scenario", str(tmp_path / "f.zip"), str(tmp_path / "dir"))
        assert out == "full-example v1 (unchanged)\nfull-example v1 (unchanged)\n"

    def test_to_a_yaml_file(self, imported, tmp_path):
        run("export_scenario", "minimal", "-o", str(tmp_path / "m.yml"))
        assert (tmp_path / "m.yml").read_text() == (DATA / "minimal.yaml").read_text()

    @pytest.mark.parametrize("output", [None, "x.yaml"])
    def test_attachments_need_a_zip_or_a_folder(self, imported, tmp_path, output):
        args = ["full-example"] + (["-o", str(tmp_path / output)] if output else [])
        error, _err = fails("export_scenario", *args)
        assert error.returncode == 1
        assert "has 4 attachment file(s): export it with -o FILE.zip or -o FOLDER/" in str(error)
        assert not list(tmp_path.iterdir())

    def test_unknown_output_kind(self, imported, tmp_path):
        error, _err = fails("export_scenario", "minimal", "-o", str(tmp_path / "m.txt"))
        assert "give FILE.yaml, FILE.zip or FOLDER/" in str(error)

    def test_unknown_slug_or_version(self, imported):
        error, _err = fails("export_scenario", "nope")
        assert (error.returncode, str(error)) == (
            1, "no scenario 'nope' (known: full-example, minimal)",
        )  # fmt: skip
        error, _err = fails("export_scenario", "minimal", "--version", "7")
        assert (error.returncode, str(error)) == (
            1, "scenario 'minimal' has no version 7 (versions: v1)",
        )  # fmt: skip


class TestScenarioSchema:
    def test_prints_the_schema(self):
        out, _err = run("scenario_schema")
        assert out == json_schema_text()
        assert json.loads(out)["$defs"]["Inject"]

    def test_writes_the_schema(self, tmp_path):
        run("scenario_schema", "-o", str(tmp_path / "s.json"))
        assert Path(tmp_path / "s.json").read_text() == json_schema_text()


class TestWorkbooks:
    """export_scenario -o FILE.xlsx / --xlsx, and import_scenario of what it writes."""

    @pytest.fixture
    def imported(self):
        run("import_scenario", str(DATA / "minimal.yaml"), str(DATA / "full.yaml"))

    def test_to_an_xlsx_file_and_back(self, imported, tmp_path):
        target = tmp_path / "m.xlsx"
        out, _err = run("export_scenario", "minimal", "-o", str(target))
        assert out == f"minimal v1 written to {target}\n"
        assert load_workbook(target).sheetnames[:2] == ["Scénario", "Injects"]
        out, err = run("import_scenario", str(target))
        assert (out, err) == ("minimal v1 (unchanged)\n", "")

    def test_the_shipped_scenario_round_trips_through_a_workbook(self, tmp_path):
        assert run("import_scenario", str(NIGERIAN_MINORS))[0] == "nigerian-minors v1\n"
        target = tmp_path / "nm.zip"
        run("export_scenario", "nigerian-minors", "--xlsx", "-o", str(target))
        with zipfile.ZipFile(target) as archive:
            names = archive.namelist()
        assert names[0] == "scenario.xlsx"
        assert all(name.startswith("documents/") for name in names[1:]) and len(names) > 1
        assert run("import_scenario", str(target))[0] == "nigerian-minors v1 (unchanged)\n"

    def test_to_a_folder_holding_scenario_xlsx(self, imported, tmp_path):
        run("export_scenario", "full-example", "--xlsx", "-o", f"{tmp_path / 'dir'}/")
        assert (tmp_path / "dir" / "scenario.xlsx").is_file()
        assert (tmp_path / "dir" / "files" / "plan.png").is_file()
        assert not (tmp_path / "dir" / "scenario.yaml").exists()
        out, _err = run("import_scenario", str(tmp_path / "dir"))
        assert out == "full-example v1 (unchanged)\n"

    def test_attachments_need_the_workbook_zip(self, imported, tmp_path):
        error, _err = fails("export_scenario", "full-example", "-o", str(tmp_path / "f.xlsx"))
        assert error.returncode == 1
        assert "has 4 attachment file(s): export it with --xlsx -o FILE.zip" in str(error)
        assert not list(tmp_path.iterdir())

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--xlsx"], "a workbook is not text: give -o FILE.xlsx"),
            (["--xlsx", "-o", "m.yaml"], "as a workbook: give FILE.xlsx, FILE.zip or FOLDER/"),
        ],
    )
    def test_a_workbook_needs_a_file(self, imported, tmp_path, args, message):
        args = [str(tmp_path / a) if a.endswith(".yaml") else a for a in args]
        error, _err = fails("export_scenario", "minimal", *args)
        assert error.returncode == 1
        assert message in str(error)

    def test_a_value_no_workbook_holds_is_refused(self, tmp_path):
        long = tmp_path / "long.yaml"
        body = f"    title: Début\n    body: {'x' * 40_000}\n"
        long.write_text(BASE.replace("    title: Début\n", body))
        run("import_scenario", str(long))
        error, _err = fails("export_scenario", "essai", "-o", str(tmp_path / "e.xlsx"))
        assert str(error) == (
            "essai v1 cannot be written as a workbook: injects #1 ('start'), 'body': 40,000 "
            "characters, and a spreadsheet cell holds at most 32,767: export this scenario "
            "as YAML"
        )
        assert not (tmp_path / "e.xlsx").exists()

    def test_errors_of_a_workbook_name_their_cells(self, tmp_path):
        book = load_workbook(io.BytesIO(workbook_of(BASE)))
        book["Injects"]["C3"].value = "[jo]"
        book["Injects"]["C3"].data_type = "s"
        bad = tmp_path / "bad.xlsx"
        book.save(bad)
        error, err = fails("import_scenario", str(bad), str(DATA / "minimal.yaml"))
        assert "1 error; nothing was imported" in str(error)
        assert err.splitlines() == [
            f"{bad}:Injects!C3: error: inject 'cue1' sends to unknown role 'jo' "
            "(known: police, parquet, joy, obs) [unknown-role]",
            f"{bad}:Roles!A4: warning: actor role 'joy' receives no cue [actor-without-cue]",
        ]
        assert not Scenario.objects.exists()

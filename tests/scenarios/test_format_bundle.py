"""Sources: files, folders and zips, on disk or uploaded; limits and unsafe paths;
attachments and their content."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from scenarios.format import ScenarioInvalid, check_scenario
from scenarios.format import bundle as bundle_module
from scenarios.format.validate import content_mismatch
from tests.scenarios.format_helpers import (
    BASE,
    DATA,
    assert_at,
    bundle_files,
    codes,
    diagnose,
    make_zip,
    only,
    pos,
)

FULL = (DATA / "full.yaml").read_text(encoding="utf-8")
PNG = (DATA / "files" / "plan.png").read_bytes()
PDF = (DATA / "files" / "pv-audition.pdf").read_bytes()

# Smallest headers that pass the content checks, one per allowed type.
SAMPLES = {
    "pdf": PDF,
    "png": PNG,
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "jpeg": b"\xff\xd8\xff\xdb\x00\x43\x00",
    "webp": b"RIFF" + struct.pack("<I", 4) + b"WEBPVP8 ",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "ogg": b"OggS\x00\x02" + b"\x00" * 20,
    "txt": "Procès-verbal\n".encode(),
    "md": b"# Titre\n",
}


def errors_of(source) -> list:
    with pytest.raises(ScenarioInvalid) as caught:
        check_scenario(source)
    return caught.value.diagnostics


def with_attachment(path: str, title: str | None = None) -> str:
    text = BASE + "  - id: doc\n    kind: document\n    to: police\n    title: Pièce\n"
    text += f"    attachments:\n      - file: {path}\n"
    if title:
        text += f"        title: {title}\n"
    return text


class TestSingleFile:
    def test_by_path_resolves_attachments_next_to_it(self):
        checked = check_scenario(DATA / "full.yaml")
        assert sorted(checked.files) == sorted(bundle_files())
        assert checked.files == bundle_files()
        assert checked.source_name == "full.yaml"

    def test_by_path_as_a_string(self):
        assert check_scenario(str(DATA / "minimal.yaml")).slug == "minimal"

    def test_uploaded_file_has_no_attachments(self):
        diagnostics = errors_of(("full.yaml", FULL.encode()))
        assert set(codes(diagnostics)) == {"missing-attachment"}
        assert len(diagnostics) == 4
        first = diagnostics[0]
        assert "upload a .zip holding scenario.yaml" in first.message
        assert first.file == "full.yaml"
        assert_at(first, pos(FULL, "files/pv-audition.pdf"))

    def test_uploaded_file_object(self):
        upload = io.BytesIO((DATA / "minimal.yaml").read_bytes())
        upload.name = "/tmp/uploads/minimal.yaml"
        checked = check_scenario(upload)
        assert checked.slug == "minimal"
        assert checked.source_name == "minimal.yaml"

    def test_yml_suffix(self, tmp_path):
        target = tmp_path / "s.YML"
        target.write_text(BASE)
        assert check_scenario(target).slug == "essai"

    def test_no_such_file(self, tmp_path):
        diagnostic = only(errors_of(tmp_path / "nope.yaml"), "no-such-file")
        assert "does not exist" in diagnostic.message

    def test_unsupported_file(self, tmp_path):
        target = tmp_path / "s.json"
        target.write_text("{}")
        assert only(errors_of(target), "unsupported-file")
        assert only(errors_of(("s.txt", b"format: x")), "unsupported-file")

    def test_too_large_on_disk_is_not_read(self, tmp_path):
        target = tmp_path / "big.yaml"
        with target.open("wb") as f:
            f.truncate(3 * 1024 * 1024)
        diagnostic = only(errors_of(target), "too-large")
        assert f"{3 * 1024 * 1024:,} bytes" in diagnostic.message

    def test_too_large_upload(self):
        assert only(errors_of(("big.yaml", b"#" * (2 * 1024 * 1024 + 1))), "too-large")


class TestFolder:
    def test_folder_bundle(self):
        checked = check_scenario(DATA / "bundle")
        assert checked.slug == "bundle-example"
        assert sorted(checked.files) == ["images/plan.png", "pv.pdf"]
        assert checked.source_name == "bundle"

    def test_scenario_yml(self, tmp_path):
        (tmp_path / "scenario.yml").write_text(BASE)
        assert check_scenario(tmp_path).slug == "essai"

    def test_folder_without_scenario(self, tmp_path):
        diagnostic = only(errors_of(tmp_path), "no-scenario-file")
        assert "holds no scenario.yaml" in diagnostic.message

    def test_diagnostics_name_the_yaml_inside_the_folder(self, tmp_path):
        (tmp_path / "scenario.yaml").write_text(
            BASE.replace("kind: call", "kind: sms")
            + "  - id: x\n    kind: sms\n    to: police\n    title: X\n"
        )
        diagnostic = only(errors_of(tmp_path), "bad-value")
        assert diagnostic.file == str(tmp_path / "scenario.yaml")

    def test_symlink_out_of_the_folder(self, tmp_path):
        outside = tmp_path / "secret.txt"
        outside.write_text("secret")
        folder = tmp_path / "s"
        folder.mkdir()
        (folder / "leak.txt").symlink_to(outside)
        text = with_attachment("leak.txt")
        (folder / "scenario.yaml").write_text(text)
        diagnostic = only(errors_of(folder), "unsafe-path")
        assert "leads outside the scenario's folder" in diagnostic.message
        assert_at(diagnostic, pos(text, "leak.txt"))

    def test_symlink_inside_the_folder_is_fine(self, tmp_path):
        (tmp_path / "real.txt").write_text("ok")
        (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
        (tmp_path / "scenario.yaml").write_text(with_attachment("link.txt"))
        assert check_scenario(tmp_path).files == {"link.txt": b"ok"}

    def test_attachment_that_is_a_folder(self, tmp_path):
        (tmp_path / "docs.txt").mkdir()
        (tmp_path / "scenario.yaml").write_text(with_attachment("docs.txt"))
        assert "is not a file" in only(errors_of(tmp_path), "missing-attachment").message

    def test_bundle_limit_while_reading_attachments(self, tmp_path, monkeypatch):
        monkeypatch.setattr(bundle_module, "MAX_BUNDLE_BYTES", len(BASE) + 500)
        (tmp_path / "big.txt").write_bytes(b"a" * 1000)
        text = with_attachment("big.txt")
        (tmp_path / "scenario.yaml").write_text(text)
        diagnostic = only(errors_of(tmp_path), "bundle-too-large")
        assert "passes the" in diagnostic.message
        assert_at(diagnostic, pos(text, "big.txt"))


class TestZip:
    def zip_of_folder(self, folder: Path, prefix: str = "") -> bytes:
        entries = {
            prefix + str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
        return make_zip(entries)

    def test_zip_with_scenario_at_root(self):
        data = self.zip_of_folder(DATA / "bundle")
        checked = check_scenario(("bundle.zip", data))
        assert sorted(checked.files) == ["images/plan.png", "pv.pdf"]
        assert checked.source_name == "bundle.zip"

    def test_zip_with_one_top_level_folder(self, tmp_path):
        data = self.zip_of_folder(DATA / "bundle", prefix="bundle-example/")
        target = tmp_path / "b.zip"
        target.write_bytes(data)
        checked = check_scenario(target)
        assert sorted(checked.files) == ["images/plan.png", "pv.pdf"]

    def test_diagnostics_name_the_yaml_inside_the_zip(self):
        data = make_zip({"s/scenario.yaml": BASE.replace("slug: essai", "slug: E").encode()})
        diagnostic = only(errors_of(("up.zip", data)), "bad-value")
        assert diagnostic.file == "up.zip/s/scenario.yaml"

    def test_zip_without_scenario(self):
        diagnostic = only(
            errors_of(("x.zip", make_zip({"a/b/scenario.yaml": b""}))), "no-scenario-file"
        )
        assert "holds no scenario.yaml" in diagnostic.message

    def test_zip_with_two_scenarios(self):
        data = make_zip({"a/scenario.yaml": BASE.encode(), "b/scenario.yaml": BASE.encode()})
        diagnostic = only(errors_of(("x.zip", data)), "no-scenario-file")
        assert "several scenarios (a, b)" in diagnostic.message

    def test_corrupt_zip(self):
        data = make_zip({"scenario.yaml": BASE.encode()})
        assert only(errors_of(("x.zip", data[: len(data) // 2])), "bad-zip")
        assert only(errors_of(("x.zip", b"not a zip at all")), "bad-zip")

    def test_corrupt_entry(self):
        data = bytearray(make_zip({"scenario.yaml": BASE.encode() * 3}))
        start = data.index(b"scenario.yaml") + len("scenario.yaml") + 10
        data[start : start + 20] = b"\x00" * 20  # damage the compressed stream
        diagnostics = errors_of(("x.zip", bytes(data)))
        assert codes(diagnostics) == ["bad-zip"]

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("../evil.txt", "climbs out"),
            ("a/../../evil.txt", "climbs out"),
            ("/etc/evil.txt", "is absolute"),
            ("C:/evil.txt", "is absolute"),
            ("a\\..\\evil.txt", "'\\'"),
        ],
    )
    def test_unsafe_entry_names(self, name, reason):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("scenario.yaml", BASE)
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # ZipInfo would sanitise some of these names
            archive.writestr(info, b"x")
        diagnostic = only(errors_of(("x.zip", buffer.getvalue())), "unsafe-path")
        assert reason in diagnostic.message

    def test_symlink_entry(self):
        data = make_zip({"scenario.yaml": BASE.encode()}, symlinks={"leak.txt": "/etc/passwd"})
        diagnostic = only(errors_of(("x.zip", data)), "unsafe-path")
        assert "zip entry 'leak.txt' is a symlink" in diagnostic.message

    def test_zip_bomb_by_declared_size(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("scenario.yaml", BASE)
            archive.writestr("zeros.txt", b"\0" * (51 * 1024 * 1024))
        assert len(buffer.getvalue()) < 1024 * 1024  # small on the wire
        diagnostic = only(errors_of(("bomb.zip", buffer.getvalue())), "bundle-too-large")
        assert "unpacks to 51.0 MiB" in diagnostic.message

    def test_zip_whose_headers_lie_about_sizes(self):
        text = with_attachment("notes.txt")
        data = bytearray(make_zip({"scenario.yaml": text.encode(), "notes.txt": b"x" * 100_000}))
        # Claim 10 bytes for notes.txt in the central directory: reading stops there
        # (and the checksum then fails) rather than trusting the stream.
        central = data.rindex(b"PK\x01\x02")
        struct.pack_into("<I", data, central + 24, 10)
        diagnostic = only(errors_of(("liar.zip", bytes(data))), "bad-zip")
        assert "'notes.txt' cannot be read" in diagnostic.message

    def test_read_cap_applies_to_zip_entries(self, monkeypatch):
        text = with_attachment("big.txt")
        data = make_zip({"scenario.yaml": text.encode(), "big.txt": b"a" * 3000})
        monkeypatch.setattr(bundle_module, "MAX_BUNDLE_BYTES", len(text) + 3000 + 100)
        assert check_scenario(("ok.zip", data)).files["big.txt"] == b"a" * 3000
        monkeypatch.setattr(bundle_module, "MAX_BUNDLE_BYTES", len(text) + 2000)
        diagnostics = errors_of(("big.zip", data))
        assert codes(diagnostics) == ["bundle-too-large"]  # by the declared sizes already

    def test_too_many_entries(self, monkeypatch):
        monkeypatch.setattr(bundle_module, "MAX_ZIP_ENTRIES", 3)
        data = make_zip({f"f{i}.txt": b"" for i in range(4)})
        assert "4 entries" in only(errors_of(("many.zip", data)), "bundle-too-large").message

    def test_zip_too_large_upload(self):
        data = b"PK" + b"\0" * (50 * 1024 * 1024)
        assert only(errors_of(("huge.zip", data)), "bundle-too-large")

    def test_zip_too_large_on_disk(self, tmp_path):
        target = tmp_path / "huge.zip"
        with target.open("wb") as f:
            f.truncate(51 * 1024 * 1024)
        assert only(errors_of(target), "bundle-too-large")

    def test_missing_attachment_in_zip(self):
        text = with_attachment("docs/pv.pdf")
        diagnostic = only(
            errors_of(("x.zip", make_zip({"scenario.yaml": text.encode()}))), "missing-attachment"
        )
        assert diagnostic.message == (
            "inject 'doc': 'docs/pv.pdf' is not in the zip (looked for 'docs/pv.pdf')"
        )
        assert_at(diagnostic, pos(text, "docs/pv.pdf"))


class TestAttachments:
    @pytest.mark.parametrize("extension", sorted(SAMPLES))
    def test_every_allowed_type(self, extension):
        text = with_attachment(f"doc.{extension}", title="Pièce")
        data = make_zip({"scenario.yaml": text.encode(), f"doc.{extension}": SAMPLES[extension]})
        assert check_scenario(("x.zip", data)).files == {f"doc.{extension}": SAMPLES[extension]}

    @pytest.mark.parametrize("extension", sorted(SAMPLES))
    def test_content_that_does_not_match_the_extension(self, extension):
        wrong = b"\x00\x01 binary" if extension in ("txt", "md") else b"<html>hello</html>"
        text = with_attachment(f"doc.{extension}")
        data = make_zip({"scenario.yaml": text.encode(), f"doc.{extension}": wrong})
        diagnostic = only(errors_of(("x.zip", data)), "bad-attachment")
        assert diagnostic.message.startswith(f"inject 'doc': attachment 'doc.{extension}' is not")
        assert_at(diagnostic, pos(text, f"doc.{extension}"))

    def test_text_that_is_not_utf8(self):
        assert content_mismatch("txt", "café".encode("latin-1")) == "is not UTF-8 text"
        assert content_mismatch("md", b"") is None

    def test_extension_case_does_not_matter(self):
        text = with_attachment("PLAN.PNG")
        data = make_zip({"scenario.yaml": text.encode(), "PLAN.PNG": PNG})
        assert check_scenario(("x.zip", data)).files == {"PLAN.PNG": PNG}

    @pytest.mark.parametrize("path", ["virus.exe", "page.html", "noextension", "image.svg"])
    def test_type_not_allowed(self, path):
        text = with_attachment(path)
        diagnostic = only(diagnose(text), "bad-attachment")
        assert diagnostic.message == (
            f"inject 'doc': attachment '{path}': this type of file is not allowed "
            "(allowed: pdf, png, jpg, jpeg, webp, txt, md, mp3, ogg)"
        )
        assert_at(diagnostic, pos(text, path))

    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            ("../secret.pdf", "climbs out of the bundle with '..'"),
            ("docs/../../secret.pdf", "climbs out of the bundle with '..'"),
            ("/etc/secret.pdf", "is absolute"),
            ("C:/secret.pdf", "is absolute"),
            ("'docs\\\\pv.pdf'", "uses '\\'"),
        ],
    )
    def test_unsafe_attachment_paths(self, path, reason):
        text = with_attachment(path)
        diagnostic = only(diagnose(text), "unsafe-path")
        assert reason in diagnostic.message
        assert_at(diagnostic, pos(text, path))

    def test_same_file_named_twice_is_read_once(self, tmp_path):
        shutil.copytree(DATA / "bundle", tmp_path / "b")
        text = (tmp_path / "b" / "scenario.yaml").read_text()
        text += "  - id: again\n    kind: document\n    to: police\n    title: Encore\n"
        text += "    attachments:\n      - file: pv.pdf\n"
        (tmp_path / "b" / "scenario.yaml").write_text(text)
        assert sorted(check_scenario(tmp_path / "b").files) == ["images/plan.png", "pv.pdf"]

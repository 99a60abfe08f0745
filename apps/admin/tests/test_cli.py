"""The console script, the admins file and the register file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest
from careaccess import PersonalIdentityNumber, Residence, StaticDirectory, connect

from careaccess_admin.admins import AdminsFileError, load_admins, parse_admins, verify_password
from careaccess_admin.demo import DEMO_PASSWORD, admins_toml, demo_admins, demo_residents, seed_demo
from careaccess_admin.register import RegisterFileError, read_register, write_register
from support import free_port

SCRIPT = shutil.which("careaccess-admin", path=str(Path(sys.executable).parent)) or "careaccess-admin"


def test_hash_password_reads_stdin_and_prints_an_argon2_hash() -> None:
    done = subprocess.run([SCRIPT, "hash-password"], input="hemligt ord\n", capture_output=True, text=True, check=True)
    hashed = done.stdout.strip()
    assert hashed.startswith("$argon2id$")
    assert argon2.PasswordHasher().verify(hashed, "hemligt ord")
    assert "hemligt" not in done.stderr


def test_hash_password_refuses_an_empty_password() -> None:
    done = subprocess.run([SCRIPT, "hash-password"], input="", capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "no password" in done.stderr


def test_admins_file_round_trip(tmp_path: Path) -> None:
    admins = demo_admins()
    path = tmp_path / "admins.toml"
    path.write_text(admins_toml(admins), encoding="utf-8")
    loaded = load_admins(path)
    assert loaded == admins
    assert verify_password(loaded, "anna", DEMO_PASSWORD) == admins["anna"]
    assert verify_password(loaded, "anna", "fel") is None
    assert verify_password(loaded, "nobody", DEMO_PASSWORD) is None
    assert "password_hash" not in repr(loaded["anna"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not TOML"),
        ("", r"no \[\[admin\]\] tables"),
        ('[[admin]]\nname = "A"\nclinics = []\n', "'id'"),
        ('[[admin]]\nid = "a"\nname = "A"\nclinics = "c1"\n', "'clinics'"),
        ('[[admin]]\nid = "a"\nname = "A"\nclinics = ["c1"]\npassword_hash = "plain"\n', "argon2"),
        ('[[admin]]\nid = "a"\nname = "A"\nclinics = []\n[[admin]]\nid = "a"\nname = "B"\nclinics = []\n', "twice"),
    ],
)
def test_admins_file_errors(text: str, message: str) -> None:
    with pytest.raises(AdminsFileError, match=message):
        parse_admins(text)


def test_an_admin_without_a_password_hash_cannot_log_in() -> None:
    admins = parse_admins('[[admin]]\nid = "sso"\nname = "S"\nclinics = ["c1"]\n')
    assert verify_password(admins, "sso", "") is None


def test_register_file_csv_and_json_lines(tmp_path: Path) -> None:
    residents = demo_residents(5)
    csv_file = tmp_path / "register.csv"
    write_register(csv_file, residents)
    directory = read_register(csv_file)
    assert isinstance(directory, StaticDirectory)
    assert directory.careaccess_lookup_resident(residents[1].pnr) == residents[1]
    lines = tmp_path / "register.jsonl"
    lines.write_text(
        '{"personnummer": "19121212-1212", "name": "Tolvan Tolvansson", "region": "12", "municipality": "1280"}\n\n',
        encoding="utf-8",
    )
    found = read_register(lines).careaccess_lookup_resident(PersonalIdentityNumber.parse("191212121212"))
    assert found is not None
    assert found.residence == Residence("12", "1280")


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("bad.csv", "personnummer,name\n19121212-1212,Tolvan\n19121212-1213,Fel\n", "bad.csv:3"),
        ("bad.jsonl", '{"personnummer": "19121212-1212"}\nnot json\n', "bad.jsonl:2"),
        ("bad.jsonl", "[1, 2]\n", "bad.jsonl:1"),
    ],
)
def test_register_file_errors_name_the_line(tmp_path: Path, name: str, text: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegisterFileError, match=where) as raised:
        read_register(path)
    assert "1213" not in str(raised.value)


def test_register_file_missing(tmp_path: Path) -> None:
    with pytest.raises(RegisterFileError, match="cannot read"):
        read_register(tmp_path / "missing.csv")


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test, stopped (by their own id) afterwards."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def wait_for(url: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a loopback test URL
                body: str = response.read().decode()
                return body
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve(tmp_path: Path, running: list[subprocess.Popen[str]]) -> None:
    database = tmp_path / "care.db"
    residents = demo_residents()
    access = connect(f"sqlite:///{database}", plugins=[StaticDirectory(residents)])
    seed_demo(access)
    access.close()
    admins = tmp_path / "admins.toml"
    admins.write_text(admins_toml(demo_admins()), encoding="utf-8")
    register = tmp_path / "register.csv"
    write_register(register, residents)
    port = free_port()
    command = [SCRIPT, "serve", "--store", f"sqlite:///{database}", "--admins", str(admins)]
    command += ["--directory", str(register), "--port", str(port)]
    running.append(subprocess.Popen(command, text=True, env={**os.environ, "CAREACCESS_ADMIN_SECRET": "s"}))
    assert "Användarnamn" in wait_for(f"http://127.0.0.1:{port}/login")


def test_serve_reports_a_bad_admins_file(tmp_path: Path) -> None:
    admins = tmp_path / "admins.toml"
    admins.write_text("[[admin]]\n", encoding="utf-8")
    done = subprocess.run(
        [SCRIPT, "serve", "--store", "memory://", "--admins", str(admins)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "'id' must be a non-empty string" in done.stderr


def test_demo_prints_the_url_and_a_login(tmp_path: Path, running: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [SCRIPT, "demo", "--dir", str(tmp_path / "demo"), "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    running.append(process)
    assert "Användarnamn" in wait_for(f"http://127.0.0.1:{port}/login")
    assert process.stdout is not None
    first, second = process.stdout.readline(), process.stdout.readline()
    assert f"http://127.0.0.1:{port}/" in first
    assert DEMO_PASSWORD in second
    assert (tmp_path / "demo" / "demo.db").is_file()

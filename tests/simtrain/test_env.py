"""simtrain.env and the embedded default's settings: DEBUG off, a key of its own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

from django.conf import settings

from simtrain.env import persisted_secret


def test_a_secret_is_made_once_kept_private_and_read_back(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = persisted_secret(path)
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert persisted_secret(path) == first
    assert list(path.parent.iterdir()) == [path]  # no draft left behind


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "secret_key"
    keys, start = [], threading.Barrier(8)

    def read():
        start.wait()
        keys.append(persisted_secret(path))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1


def settings_of_a_fresh_process(env: dict[str, str]) -> list[str]:
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'simtrain.settings';"
            "django.setup(); from django.conf import settings as s;"
            "print(s.DEBUG); print(s.SECRET_KEY)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    done = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR,
                          env={**clean, **env}, capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_embedded_default_runs_without_debug_and_with_its_own_key(tmp_path):
    key_file = tmp_path / "secret_key"
    debug, key = settings_of_a_fresh_process({"SIMTRAIN_SECRET_KEY_FILE": str(key_file)})
    assert debug == "False"
    assert key == key_file.read_text().strip() and "insecure" not in key
    assert settings_of_a_fresh_process({"SIMTRAIN_SECRET_KEY_FILE": str(key_file)})[1] == key
    assert settings_of_a_fresh_process({"DJANGO_DEBUG": "1",
                                        "SIMTRAIN_SECRET_KEY_FILE": str(key_file)})[0] == "True"


def test_a_key_from_the_environment_wins_and_no_file_is_made(tmp_path):
    key_file = tmp_path / "secret_key"
    got = settings_of_a_fresh_process({"DJANGO_SECRET_KEY": "k" * 60,
                                       "SIMTRAIN_SECRET_KEY_FILE": str(key_file)})
    assert got[1] == "k" * 60 and not key_file.exists()

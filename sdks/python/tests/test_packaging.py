"""`pip install sdks/python` into a fresh virtualenv gives a package that works: it
imports from the virtualenv (not from src/) and makes calls to the test server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    import contactd
    from contactd import Client, NotFoundError

    with Client() as client:  # CONTACTD_API_KEY and CONTACTD_URL
        try:
            client.contacts.get(sys.argv[1])
            sys.exit("the contact exists before it is created")
        except NotFoundError:
            pass
        created = client.contacts.create({"phone": sys.argv[1], "first_name": "Packaged"})
        assert client.contacts.get(sys.argv[1]).id == created.id
    print(contactd.__file__)
    """)


def test_pip_install_into_a_fresh_virtualenv(tmp_path, server, unique):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--disable-pip-version-check",
            "-c",
            str(SDK_DIR / "requirements-dev.txt"),
            str(SDK_DIR),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(CONTACTD_API_KEY=server.key, CONTACTD_URL=server.url)
    phone = unique.phone()
    run = subprocess.run(
        [str(python), "-c", SCRIPT, phone], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert Path(run.stdout.strip()).is_relative_to(venv)

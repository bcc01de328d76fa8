"""Write this project's pip lock: every package it installs, pinned with its hashes.

    python lock.py                                     # requirements.txt -> pylock.toml
    python lock.py requirements-cpu.txt pylock.cpu.toml  # another backend's files

Run it in the project's virtual environment (pip 26.1 or newer), on the platform CI runs
(Linux x86_64): `pip lock` writes a lock for this Python and platform only. Two steps, so the
torch family comes from the PyTorch index alone (pip has no index priority):

1. `pip lock -r requirements.txt`: the torch family and everything it requires, from the
   PyTorch index that requirements.txt names, with their hashes;
2. `pip lock` of that lock, the project (`-e .`) and its `dev` group, from your default index
   (PyPI): the torch family stays as locked in step 1, everything else is added with hashes.

The project's own entry (a folder, which has no hash) is left out of the lock, so that
`pip install --require-hashes -r pylock.toml` installs it; `pip install --no-deps -e .`
installs the project afterwards.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "\n[[packages]]\n"


def pip_lock(*args: str) -> None:
    """Run `pip lock` of this interpreter's pip; exit with its status when it fails."""
    result = subprocess.run([sys.executable, "-m", "pip", "lock", *args], check=False)
    if result.returncode:
        sys.exit(result.returncode)


def without_the_project(lock: str) -> str:
    """The lock's text less the project's own entry, the one package pip locks as a folder
    (`[packages.directory]`): it has no hash to require."""
    head, *packages = lock.split(PACKAGE)
    kept = [package for package in packages if "\n[packages.directory]\n" not in package]
    return PACKAGE.join([head, *kept])


def main(requirements: str = "requirements.txt", output: str = "pylock.toml") -> None:
    """Lock `requirements` (the torch family) with the project and its dev group in `output`."""
    with tempfile.TemporaryDirectory() as folder:
        torch_lock = Path(folder) / "pylock.torch.toml"  # pip reads pylock.*.toml as a lock
        pip_lock("--requirement", requirements, "--output", str(torch_lock))
        # A lock given as requirements would make pip require hashes, which the project's
        # folder cannot have: its files keep theirs, from step 1.
        pip_lock(
            "--no-require-hashes",
            "--requirement",
            str(torch_lock),
            "--editable",
            ".",
            "--group",
            "dev",
            "--output",
            output,  # in the project's folder, which the lock names relative to itself
        )
    lock = Path(output)
    lock.write_text(without_the_project(lock.read_text()))
    print(f"Wrote {output}: commit it; install it with pip install --require-hashes -r {output}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""Decode QR codes with a real decoder: zbarimg from Debian's zbar-tools."""

import shutil
import subprocess

import pytest


def decode(image: bytes, tmp_path, suffix=".svg") -> str:
    if not shutil.which("zbarimg"):
        pytest.fail("zbarimg is missing: `make test` installs zbar-tools")
    path = tmp_path / f"qr{suffix}"
    path.write_bytes(image)
    out = subprocess.run(
        ["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()

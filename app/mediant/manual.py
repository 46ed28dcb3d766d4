"""Guided manual steps for devices the REST API cannot drive (firmware 6.x and 7.0)."""

from __future__ import annotations

from pathlib import Path

from app.atomic import atomic_write
from app.material import DeployMaterial
from app.mediant.client import parse_firmware


def write_manual_files(
    material: DeployMaterial, folder: Path, *, include_key: bool = False
) -> dict[str, Path]:
    """The files the web pages accept: PEM only. The key (unencrypted, owner-only file) only
    when asked: an unencrypted key is written where the user chose, never by default."""
    files: dict[str, Path] = {}
    if include_key and material.key_pem:
        files["key"] = folder / f"{material.name}.key.pem"
        atomic_write(files["key"], material.key_pem, plaintext=True)
    files["certificate"] = folder / f"{material.name}.crt.pem"
    atomic_write(files["certificate"], material.cert_pem, secret=False)
    for n, pem in enumerate(material.ca_pems, start=1):
        files[f"ca{n}"] = folder / f"{material.name}-ca{n}.crt.pem"
        atomic_write(files[f"ca{n}"], pem, secret=False)
    return files


def manual_steps(
    firmware: str, files: dict[str, Path], context: int = 0, *, key_hint: str = ""
) -> list[str]:
    major, _minor = parse_firmware(firmware)
    cas = [p for k, p in files.items() if k.startswith("ca")]
    steps = [
        "Back up first: Actions > Configuration File > Save INI File (6.x: Maintenance > "
        "Software Update > Configuration File).",
    ]
    if major >= 7:
        steps.append(
            f"SETUP > IP NETWORK > SECURITY > TLS Contexts: select context {context}, "
            "then Change Certificates."
        )
        where = "Change Certificates page"
    else:
        steps.append("Configuration > System > Certificates (6.x web interface).")
        where = "Certificates page"
    if "key" in files:
        steps.append(f"On the {where}, Private Key: send {files['key']} (PEM).")
    elif key_hint:
        steps.append(f"On the {where}, Private Key: send {key_hint}.")
    steps.append(f"Device Certificate: send {files['certificate']}.")
    steps.extend(f"Trusted Root Certificate Store: Import {p}." for p in cas)
    steps.append("Save the configuration (Burn) and reset the device with save.")
    steps.append("Check that the page shows the Private key as OK, then run `accert verify`.")
    return steps

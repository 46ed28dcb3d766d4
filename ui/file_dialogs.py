"""File dialogs that open where the user was last time for the same purpose (app.folders).

The CA response, the CSR, the export folder, a PFX to open, a renewal folder and the estate's
CSV/HTML files each remember their own folder: a CSR saved to the CA's order folder does not
send the next "open the CA's response" there, nor to the home folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from app.folders import remember_folder, remembered_folder


def open_files(parent: QWidget, purpose: str, title: str, filters: str) -> list[Path]:
    names, _ = QFileDialog.getOpenFileNames(parent, title, str(remembered_folder(purpose)), filters)
    paths = [Path(n) for n in names]
    if paths:
        remember_folder(purpose, paths[0].parent)
    return paths


def open_file(parent: QWidget, purpose: str, title: str, filters: str) -> Path | None:
    name, _ = QFileDialog.getOpenFileName(parent, title, str(remembered_folder(purpose)), filters)
    if not name:
        return None
    remember_folder(purpose, Path(name).parent)
    return Path(name)


def save_file(
    parent: QWidget,
    purpose: str,
    title: str,
    file_name: str,
    filters: str,
    default: Path | None = None,
) -> Path | None:
    start = remembered_folder(purpose, default) / file_name
    name, _ = QFileDialog.getSaveFileName(parent, title, str(start), filters)
    if not name:
        return None
    remember_folder(purpose, Path(name).parent)
    return Path(name)


def choose_folder(
    parent: QWidget, purpose: str, title: str, default: Path | None = None
) -> Path | None:
    folder = QFileDialog.getExistingDirectory(
        parent, title, str(remembered_folder(purpose, default))
    )
    if not folder:
        return None
    remember_folder(purpose, Path(folder))
    return Path(folder)

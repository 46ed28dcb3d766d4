"""The windowed program (accert-wizard.exe): the wizard, or with --selftest a headless check.

`accert-wizard --selftest [--report FILE]` runs the same self-test as `accert selftest --gui`
without showing anything (Qt's offscreen platform) and exits 0 only if every check passed. A
windowed Windows program has no console, so CI passes --report to read the verdict from a file.
"""

import os
import sys


def _selftest(argv: list[str]) -> int:
    import argparse
    from pathlib import Path

    from app.selftest_cli import run_and_report

    parser = argparse.ArgumentParser(prog="accert-wizard --selftest")
    parser.add_argument("--selftest", action="store_true")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--no-gui", action="store_true", help="skip the offscreen window check")
    parser.add_argument(
        "--on-screen", action="store_true", help="open the window on the real desktop instead"
    )
    parser.add_argument("--require-credential-store", action="store_true")
    args = parser.parse_args(argv)
    if not args.on_screen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless, whatever display there is
    try:
        return run_and_report(
            gui=not args.no_gui,
            verbose=True,
            report=args.report,
            require_credential_store=args.require_credential_store,
        )
    except BaseException:
        # Escaping, it would become PyInstaller's error dialog, and CI would wait on it forever.
        import traceback

        text = f"accert-wizard self-test CRASHED:\n{traceback.format_exc()}"
        if args.report is not None:
            args.report.write_text(text, encoding="utf-8")
        if sys.stderr is not None:
            sys.stderr.write(text)
        return 2


def _wizard() -> int:
    try:
        from ui.launch import main
    except ImportError as exc:
        # Only a build made before the wizard existed gets here; say so instead of vanishing.
        from PySide6.QtWidgets import QApplication, QMessageBox

        app = QApplication.instance() or QApplication(sys.argv)
        QMessageBox.critical(None, "accert", f"This build has no wizard ({exc}).")
        del app
        return 1
    result = main()
    return int(result or 0)


if __name__ == "__main__":
    if "--selftest" in sys.argv[1:]:
        sys.exit(_selftest(sys.argv[1:]))
    sys.exit(_wizard())

"""Start the accert wizard: python main.py [--dashboard]"""

import sys

USAGE = """usage: python main.py [--dashboard] [-h]

Starts the accert wizard, the window that renews an AudioCodes estate's TLS certificate.

options:
  --dashboard  open the estate dashboard straight away
  -h, --help   show this help and exit

Every step is also a command for scripts, with no window: `accert --help`
(after scripts/wizard's set-up: .venv/bin/accert, or .venv\\Scripts\\accert.exe on Windows).
"""


def main(argv: list[str]) -> int:
    if any(arg in ("-h", "--help", "/?") for arg in argv[1:]):
        print(USAGE, end="")
        return 0
    from ui.display import no_display_problem

    problem = no_display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from ui.launch import main as launch

    return launch(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

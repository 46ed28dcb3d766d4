"""Start the accert wizard: python main.py"""

import sys

if __name__ == "__main__":
    from ui.launch import main

    sys.exit(main())

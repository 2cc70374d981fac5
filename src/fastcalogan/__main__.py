"""``python -m fastcalogan``: the command line, as the ``fastcalogan`` script runs it."""

from fastcalogan.cli import main

if __name__ == "__main__":
    main()

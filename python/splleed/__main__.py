"""``python -m splleed ...`` runs the splleed CLI with the same arguments."""

from ._cli import main

if __name__ == "__main__":
    main()

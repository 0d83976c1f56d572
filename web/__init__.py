"""The web app's pages and static files (a package so that `pip install .` ships them)."""

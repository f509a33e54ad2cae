"""Prepares a new Zou database in one interpreter: `zou init-db`, `zou init-data`, `zou create-admin`.

The same commands as the `zou` CLI, run in one process because importing Zou takes seconds each time.
Usage: python prepare.py ADMIN_EMAIL ADMIN_PASSWORD (with Zou's DB_* and KV_* environment set).
"""

import sys

from zou.cli import cli

email, password = sys.argv[1], sys.argv[2]
for args in (["init-db"], ["init-data"], ["create-admin", email, "--password", password]):
    cli.main(args, prog_name="zou", standalone_mode=False)

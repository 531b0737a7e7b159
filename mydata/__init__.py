"""`mydata`: one command line for every part of the consent ledger."""

from __future__ import annotations

import click

from ledger.errors import MyDataError

EXPECTED_ERRORS = (MyDataError, OSError)


class MydataGroup(click.Group):
    """Turns expected failures into a one-line message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as exc:
            raise click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


@click.group(cls=MydataGroup)
@click.version_option(package_name="mydata-consent-ledger")
def main() -> None:
    """MyData consent ledger: chain, operator, citizen, receipts and audits."""


from . import chain_cmds, citizen_cmds, cv_service_cmd, db_cmds, demo_cmd, operator_cmds, pds_cmd, up_cmd, verify_cmds, web_cmds, witness_cmd  # noqa: E402,F401 - register commands

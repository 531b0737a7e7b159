"""`mydata`: one command line for every part of the consent ledger.

`mydata operator` serves through gevent workers, and gevent must patch the standard library
before anything imports `ssl` (requests and web3 do, below): modules that took names from an
unpatched `ssl` would block a whole worker on a TLS socket (gevent's MonkeyPatchWarning). So
that one command patches here, first; every other command runs on the plain library.
"""

from __future__ import annotations

import sys

if sys.argv[1:2] == ["operator"]:
    from gevent import monkey

    monkey.patch_all()

import click  # noqa: E402

from ledger.errors import MyDataError  # noqa: E402

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

"""`make doctor`: the doctor against `make run`'s local stack (moto secret, Bitrix24 and 1C sandboxes).

`--unpublished SET` and `--release bp_2018` start a 1C sandbox with those set-up mistakes, to see the report
name them; `--post` checks a set-up with OnecPostDocuments=true, and `--lacking bank_accounts` (or `warehouse`,
`chart_of_accounts`) imitates a base without what BP needs to post.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from invoice_bridge import doctor
from local.onec.base import AccountingSetUp
from local.onec.releases import OnecFlavour
from local.onec.sandbox import OnecSandbox
from local.stack import LocalStack

RELEASES = {"bp_3_0_198": OnecFlavour.BP_3_0_198, "bp_2018": OnecFlavour.BP_2018}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--unpublished", action="append", default=[], help="an entity set 1C does not publish")
    parser.add_argument("--release", choices=sorted(RELEASES), default="bp_3_0_198", help="the 1C release imitated")
    parser.add_argument("--trigger-stage-ids", default="", help="TriggerStageIds, e.g. C1:UC_INVOICE")
    parser.add_argument("--document-kind", default="buyer_invoice", help="DocumentKind")
    parser.add_argument("--post", action="store_true", help="OnecPostDocuments=true")
    lacks = [f.name for f in dataclasses.fields(AccountingSetUp) if f.name != "accounts_filled_on_write"]
    parser.add_argument("--lacking", action="append", default=[], choices=lacks, help="what the 1C base lacks")
    args = parser.parse_args(argv)
    accounting = AccountingSetUp(**dict.fromkeys(args.lacking, False))
    onec = OnecSandbox(unpublished=frozenset(args.unpublished), flavour=RELEASES[args.release], accounting=accounting)
    overrides = {"TriggerStageIds": args.trigger_stage_ids, "DocumentKind": args.document_kind}
    if args.post:
        overrides["OnecPostDocuments"] = "true"
    stack = LocalStack(onec=onec, parameter_overrides=overrides).start(poll=False)
    try:
        print(f"invoice-bridge doctor against the local stack (1C {args.release}, Bitrix24 sandbox)\n")
        return doctor.main([])
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())

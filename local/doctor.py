"""`make doctor`: the doctor against `make run`'s local stack (moto secret, Bitrix24 and 1C sandboxes).

`--unpublished SET` and `--release bp_2018` start a 1C sandbox with those set-up mistakes, to see the report
name them.
"""

from __future__ import annotations

import argparse
import sys

from invoice_bridge import doctor
from local.onec_metadata import OnecFlavour
from local.onec_sandbox import OnecSandbox
from local.stack import LocalStack

RELEASES = {"bp_3_0_198": OnecFlavour.BP_3_0_198, "bp_2018": OnecFlavour.BP_2018}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--unpublished", action="append", default=[], help="an entity set 1C does not publish")
    parser.add_argument("--release", choices=sorted(RELEASES), default="bp_3_0_198", help="the 1C release imitated")
    parser.add_argument("--trigger-stage-ids", default="", help="TriggerStageIds, e.g. C1:UC_INVOICE")
    parser.add_argument("--document-kind", default="buyer_invoice", help="DocumentKind")
    args = parser.parse_args(argv)
    onec = OnecSandbox(unpublished=frozenset(args.unpublished), flavour=RELEASES[args.release])
    overrides = {"TriggerStageIds": args.trigger_stage_ids, "DocumentKind": args.document_kind}
    stack = LocalStack(onec=onec, parameter_overrides=overrides).start(poll=False)
    try:
        print(f"invoice-bridge doctor against the local stack (1C {args.release}, Bitrix24 sandbox)\n")
        return doctor.main([])
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())

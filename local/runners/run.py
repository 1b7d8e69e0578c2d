"""`make run`: start the local stack, replay events/webhooks, print what each sample deal became, keep serving.

`--once` exits after the replay with status 0 when every sample deal reached its expected outcome. `--post` runs
the bridge with OnecPostDocuments=true (`make run POST=1`): then each created document must also be posted, and a
deal whose document could not be posted says what the 1C base must provide.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from invoice_bridge.operator_cli import LOCAL_STATE
from local.runners.replay import deal_results, render_table, replay
from local.runners.status_run import PAID_DEAL, play_accountant, render_status_table, status_results, told_to
from local.runners.timeline_view import plain, render_comments
from local.stack import LocalStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="exit after the replay")
    parser.add_argument("--log-level", default="WARNING", help="the handlers' log level (default WARNING)")
    parser.add_argument("--post", action="store_true", help="post the documents (OnecPostDocuments=true)")
    args = parser.parse_args(argv)

    # SIGTERM (`kill`, a container or CI stopping it) ends the run like Ctrl-C: the stack stops and the state
    # file goes, so `invoice-bridge --local` says the stack is not running instead of failing on a dead endpoint.
    main_thread = threading.current_thread() is threading.main_thread()  # only there can signals be handled
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    overrides = {"OnecPostDocuments": "true"} if args.post else {}
    stack = LocalStack(log_level=args.log_level, parameter_overrides=overrides)
    try:
        stack.start()
        stack.write_state(LOCAL_STATE)  # for `invoice-bridge --local …` from another terminal
        print(f"Bitrix24 sandbox: {stack.bitrix.webhook_url} (portal A)")
        print(f"                  {stack.bitrix_b.webhook_url} (portal B)")
        print(f"1C sandbox:       {stack.onec.url}")
        print(f"Webhook URL:      {stack.webhook_url}\n")
        for name, status in replay(stack):
            print(f"  replayed {name:<28} → HTTP {status}")
        drained = stack.event_source.wait_until_drained(timeout_seconds=120)
        results = deal_results(stack, posting=args.post)
        print()
        print(render_table(results))
        print("\nКомментарии в таймлайнах Bitrix24 (как их прочтёт менеджер):\n")
        print(render_comments(stack))
        all_expected = drained and all(result.as_expected for result in results)
        print(f"\n{'Every sample deal reached its expected outcome.' if all_expected else 'Some deals did not.'}")
        print("\nThe accountant posts deals 1001 and 1003 and records payments; the status sync tells the deals:\n")
        play_accountant(stack)
        statuses = status_results(stack, posting=args.post)
        print(render_status_table(statuses))
        print(f"\nDeal {PAID_DEAL}'s timeline, from the status sync:")
        for text in told_to(stack, PAID_DEAL):
            print("  " + plain(text).replace("\n", "\n  "))
        all_expected = all_expected and all(row.as_expected for row in statuses)
        print(
            f"Bitrix24 requests: {len(stack.bitrix.request_log)} (portal A), {len(stack.bitrix_b.request_log)} "
            f"(portal B); 1C requests: {len(stack.onec.request_log)}"
        )
        if args.once:
            return 0 if all_expected else 1
        print(f"\nServing. POST Bitrix24 webhooks to {stack.webhook_url} — Ctrl-C stops.")
        threading.Event().wait()
        return 0
    except KeyboardInterrupt:
        print("\nStopped.")
        return 0
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        try:
            LOCAL_STATE.unlink(missing_ok=True)
            stack.stop()
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())

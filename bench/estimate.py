"""Estimate benchmark: the send page's estimate of a message to a 1,000,000-contact segment, and
the real decision of the same recipients in the same run.

    python bench/estimate.py [--contacts 1000000] [--batch-size 10000] [--reseed]

Seeds a PostgreSQL database of its own (pc_bench_estimate, BENCH_DATABASE_URL to change it) with
the dispatch benchmark's mix of DNC, caps, pauses, preferred channels and category opt-outs.
Times ``message_estimate`` (one counting statement, nothing written), then a dispatch decided
in this process batch by batch (plan, then the INSERT … SELECT of each batch, no-op delivery),
checks both give the same counts, and prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_estimate")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dispatch as dispatch_bench  # noqa: E402 (its settings and seed, for this database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    dispatch_bench.ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    dispatch_bench.seed(args.contacts, args.reseed)

    from messaging import selectors, services
    from messaging.models import Dispatch, Send

    message = dispatch_bench.bench_message()
    now = timezone.now()
    started = time.perf_counter()
    estimate = selectors.message_estimate(message=message, now=now)
    estimated = time.perf_counter() - started
    print(f"estimate: {estimate.decided:,} recipients counted in {estimated:.2f} s "
          f"= {estimate.decided / estimated:,.0f} recipients/s")

    started = time.perf_counter()
    dispatch = Dispatch.objects.create(message=message, deliver_until=message.deadline(now), batch_size=args.batch_size)
    for batch_id in services.dispatch_plan(dispatch_id=dispatch.pk):
        services.batch_decide(batch=services.batch_claim(batch_id=batch_id), now=now)
        services.batch_finish(batch_id=batch_id)
    decided = time.perf_counter() - started
    rows = Send.objects.filter(dispatch=dispatch).values_list("outcome", "channel_id", "reason")
    recorded = Counter(("sending" if o == "sent" else o, c, r) for o, c, r in rows)
    print(f"dispatch decision (plan + batches, one process): {sum(recorded.values()):,} recipients in {decided:.2f} s")
    for (outcome, channel_id, reason), n in sorted(estimate.counts.items(), key=lambda item: -item[1]):
        print(f"  {outcome:>18} {str(channel_id or ''):>3} {reason:<24} {n:>9,}")
    print(f"estimate agrees with the dispatch: {recorded == Counter(estimate.counts)}")
    print(f"ratio: the estimate takes {estimated / decided:.2f} of the decision's time ({decided / estimated:.1f}x faster)")


if __name__ == "__main__":
    main()

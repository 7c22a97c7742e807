"""Run the inject scheduler as its own process (scale-out; several may run at once)."""

from __future__ import annotations

import asyncio
import signal

from django.core.management.base import BaseCommand

from sessions import scheduler


class Command(BaseCommand):
    help = "Fire due injects of every running session, until stopped (SIGINT/SIGTERM)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=scheduler.TICK_S,
                            help="seconds between passes (default %(default)s)")

    def handle(self, *args, interval: float, **options):
        async def main():
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            self.stdout.write(f"scheduler running, one pass every {interval}s; Ctrl-C stops it")
            await scheduler.run_forever(stop=stop, interval=interval)

        asyncio.run(main())

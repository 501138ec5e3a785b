"""A real SMTP server for Gazette's tests: aiosmtpd on loopback, storing each
accepted message as one JSON file (envelope, headers, decoded text parts)
in the directory given, written whole then renamed so a reader never sees
half a file. Prints `port N` once listening (port 0 picks a free one), and
stops when its standard input closes (the test that started it ended)."""

import argparse
import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({"content_type": part.get_content_type(), "text": part.get_content()})
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in message.items()],
            "parts": parts,
        }
        self.count += 1
        name = os.path.join(self.directory, f"{os.getpid()}-{self.count:07d}.json")
        with open(name + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 OK stored"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count-only", action="store_true", help="count messages, store none (benchmarks)")
    args = parser.parse_args()
    handler = Store(args.dir)
    if args.count_only:
        async def count(server, session, envelope):
            handler.count += 1
            if handler.count % 1000 == 0:
                with open(os.path.join(args.dir, "count"), "w") as f:
                    f.write(str(handler.count))
            return "250 OK counted"
        handler.handle_DATA = count
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", data_size_limit=10_000_000), args.host, args.port
    )
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    # Ends when the parent closes our standard input (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    if args.count_only:
        with open(os.path.join(args.dir, "count"), "w") as f:
            f.write(str(handler.count))
    server.close()


if __name__ == "__main__":
    asyncio.run(main())

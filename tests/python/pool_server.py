"""A capacity-limited HTTP/1.1 service for tests/shards_together.rs.

Connections are accepted and parsed by one asyncio loop (keep-alive), but every
request is served by a fixed pool of WORKERS threads, each holding its worker for
SERVICE seconds: the service cannot answer more than WORKERS / SERVICE requests per
second (4 / 5 ms = 800 req/s), however many clients load it. Prints its port on
stdout, then serves on 127.0.0.1 until killed.
"""

import asyncio
import concurrent.futures
import email.utils
import sys
import time

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 4
SERVICE = float(sys.argv[2]) if len(sys.argv) > 2 else 0.005
POOL = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS)


def work():
    time.sleep(SERVICE)


async def handle(reader, writer):
    loop = asyncio.get_running_loop()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            await loop.run_in_executor(POOL, work)
            body = b"ok"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nDate: "
                + email.utils.formatdate(usegmt=True).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())

"""A small shop service for tests/traces_real.rs, instrumented with no code of its
own: run it as `opentelemetry-instrument python3 shop.py` (Starlette's and
sqlite3's instrumentations from PyPI record a span per request and per statement).

The side it runs as (`TAILGATE_SIDE`, set by tailgate's `local` deployer) and
`SCENARIO` choose what head changed:

- `n_plus_one`: head loads a customer's order items one query per order;
- `dropped_index`: head has no index on `events.user_id` (a slow query);
- `lost_cache`: head no longer caches a product's rating (a query per request);
- `unchanged`: both sides run the same code.
"""

import os
import sqlite3

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

SIDE = os.environ.get("TAILGATE_SIDE", "base")
SCENARIO = os.environ.get("SCENARIO", "unchanged")
HEAD = SIDE == "head" and SCENARIO != "unchanged"

ORDERS = 37
db = sqlite3.connect(":memory:", check_same_thread=False)


def seed():
    c = db.cursor()
    c.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER)")
    c.execute("CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER, sku TEXT, qty INTEGER)")
    c.execute("CREATE INDEX order_items_order ON order_items (order_id)")
    c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT)")
    c.execute("CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER, stars INTEGER)")
    c.executemany("INSERT INTO orders (id, customer_id) VALUES (?, ?)", [(i, 7) for i in range(1, ORDERS + 1)])
    c.executemany(
        "INSERT INTO order_items (order_id, sku, qty) VALUES (?, ?, ?)",
        [(o, "sku-%d" % k, k) for o in range(1, ORDERS + 1) for k in range(3)],
    )
    c.executemany(
        "INSERT INTO events (user_id, kind) VALUES (?, ?)",
        [(i % 5000, "click") for i in range(150_000)],
    )
    c.executemany(
        "INSERT INTO reviews (product_id, stars) VALUES (?, ?)",
        [(i % 500, i % 5 + 1) for i in range(150_000)],
    )
    if not (SCENARIO == "dropped_index" and HEAD):
        c.execute("CREATE INDEX events_user ON events (user_id)")
    db.commit()


seed()
cache = {}


async def health(request):
    return PlainTextResponse("ok")


async def customer_orders(request):
    customer = int(request.path_params["customer"])
    c = db.cursor()
    ids = [r[0] for r in c.execute("SELECT id FROM orders WHERE customer_id = ?", (customer,))]
    items = []
    if SCENARIO == "n_plus_one" and HEAD:
        for order in ids:
            items += c.execute(
                "SELECT order_id, sku, qty FROM order_items WHERE order_id = ?", (order,)
            ).fetchall()
    else:
        marks = ",".join("?" for _ in ids)
        items = c.execute(
            "SELECT order_id, sku, qty FROM order_items WHERE order_id IN (%s)" % marks, ids
        ).fetchall()
    return JSONResponse({"orders": len(ids), "items": len(items)})


async def user_events(request):
    user = int(request.path_params["user"])
    n = db.cursor().execute("SELECT count(*) FROM events WHERE user_id = ?", (user,)).fetchone()[0]
    return JSONResponse({"events": n})


async def product_rating(request):
    product = int(request.path_params["product"])
    use_cache = not (SCENARIO == "lost_cache" and HEAD)
    if use_cache and product in cache:
        return JSONResponse({"rating": cache[product]})
    row = db.cursor().execute(
        "SELECT avg(stars) FROM reviews WHERE product_id = ?", (product,)
    ).fetchone()
    cache[product] = row[0]
    return JSONResponse({"rating": row[0]})


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/customers/{customer:int}/orders", customer_orders),
        Route("/users/{user:int}/events", user_events),
        Route("/products/{product:int}/rating", product_rating),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning", access_log=False)

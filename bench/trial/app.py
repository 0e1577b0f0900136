"""A small FastAPI + SQLite service for tailgate's real-service trial.

One code base, several "pull requests" chosen by the environment variable VARIANT:

  base        the reference: indexed item lookup, cached user profiles, a batched
              orders query, one deliberately unindexed endpoint (/search?tag=)
  readme      identical to base (stands for a comment-only change)
  n_plus_1    /orders runs one query per row (two, item and user) instead of batching
  lost_cache  /users/{id} reads the database on every request (no in-process cache)
  drop_index  /items/{code} without its index: a full table scan per request
  add_index   /search?tag= gets an index on items.tag: an improvement
  select_star /products/{id} selects * (with a 6 KB description) and returns it all

Every response carries a Server-Timing header (db, cache, total). The server is
uvicorn with its default keep-alive (5 s): do not raise it, the trial checks that
idle keep-alive closes between rounds are not counted as errors.

Run: VARIANT=base PORT=8001 python3 app.py
"""

import atexit
import contextlib
import os
import random
import shutil
import sqlite3
import tempfile
import threading
import time

from fastapi import FastAPI, HTTPException, Query, Response

VARIANTS = {
    "base",
    "readme",
    "n_plus_1",
    "lost_cache",
    "drop_index",
    "add_index",
    "select_star",
}
VARIANT = os.environ.get("VARIANT", "base")
if VARIANT not in VARIANTS:
    raise SystemExit(f"VARIANT must be one of {sorted(VARIANTS)}, not {VARIANT!r}")
if VARIANT == "readme":
    # A comment-only change: the readme variant runs exactly base's code.
    pass

N_ITEMS = int(os.environ.get("TRIAL_ITEMS", "200000"))
N_USERS = 10_000
N_ORDERS = 100_000
N_TAGS = 500
ORDERS_PAGE = 100
N_PRODUCTS = 4_000


def code_of(item_id: int) -> int:
    """The public item code of a row id (what /items/{code} looks up)."""
    return 1_000_000 + item_id * 7


def build_db(path: str) -> None:
    rng = random.Random(1)  # the same data in every variant
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=OFF")
    c.execute("PRAGMA synchronous=OFF")
    c.execute(
        "CREATE TABLE items(id INTEGER PRIMARY KEY, code INTEGER NOT NULL,"
        " name TEXT NOT NULL, tag TEXT NOT NULL, price REAL NOT NULL)"
    )
    c.executemany(
        "INSERT INTO items VALUES(?,?,?,?,?)",
        (
            (i, code_of(i), f"item-{i}", f"t{rng.randrange(N_TAGS)}", round(rng.random() * 100, 2))
            for i in range(N_ITEMS)
        ),
    )
    c.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)")
    c.executemany(
        "INSERT INTO users VALUES(?,?,?)",
        ((i, f"user{i}", f"user{i}@example.test") for i in range(N_USERS)),
    )
    # orders.user_id has no index: the per-user profile aggregate is expensive,
    # which is why base caches the profiles in process.
    c.execute(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,"
        " item_id INTEGER NOT NULL, qty INTEGER NOT NULL)"
    )
    c.executemany(
        "INSERT INTO orders VALUES(?,?,?,?)",
        (
            (i, rng.randrange(N_USERS), rng.randrange(N_ITEMS), rng.randrange(1, 5))
            for i in range(N_ORDERS)
        ),
    )
    # products: a short card and a long description (only select_star reads it).
    c.execute(
        "CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL,"
        " description TEXT NOT NULL)"
    )
    words = ["fast", "durable", "steel", "oak", "blue", "light", "compact", "quiet", "warm", "smart"]
    c.executemany(
        "INSERT INTO products VALUES(?,?,?,?)",
        (
            (
                i,
                f"product-{i}",
                round(rng.random() * 300, 2),
                " ".join(rng.choice(words) for _ in range(1000)),
            )
            for i in range(N_PRODUCTS)
        ),
    )
    if VARIANT != "drop_index":
        c.execute("CREATE UNIQUE INDEX items_code ON items(code)")
    if VARIANT == "add_index":
        c.execute("CREATE INDEX items_tag ON items(tag)")
    c.commit()
    c.close()


_tmp = tempfile.mkdtemp(prefix=f"tailgate-trial-{VARIANT}-")
atexit.register(shutil.rmtree, _tmp, True)
DB_PATH = os.path.join(_tmp, "trial.db")
_t0 = time.perf_counter()
build_db(DB_PATH)
BUILD_SECONDS = time.perf_counter() - _t0

_local = threading.local()


def db() -> sqlite3.Connection:
    """One read-only connection per worker thread (FastAPI runs `def` endpoints in a pool)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True, check_same_thread=False)
        _local.conn = conn
    return conn


class Timing:
    """Collects durations for the Server-Timing header."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.parts = {"db": 0.0, "cache": 0.0}

    def query(self, sql: str, args=()):
        t = time.perf_counter()
        rows = db().execute(sql, args).fetchall()
        self.parts["db"] += time.perf_counter() - t
        return rows

    def header(self) -> str:
        total = time.perf_counter() - self.start
        fields = [f"{k};dur={v * 1000:.3f}" for k, v in self.parts.items()]
        fields.append(f"total;dur={total * 1000:.3f}")
        return ", ".join(fields)


def profile_query(timing: Timing, user_id: int):
    rows = timing.query(
        "SELECT u.id, u.name, u.email, COUNT(o.id), COALESCE(SUM(o.qty), 0)"
        " FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.id = ? GROUP BY u.id",
        (user_id,),
    )
    if not rows:
        return None
    uid, name, email, n_orders, n_units = rows[0]
    return {"id": uid, "name": name, "email": email, "orders": n_orders, "units": n_units}


# base's cache of user profiles: built once at startup with one grouped query.
PROFILE_CACHE: dict = {}
if VARIANT != "lost_cache":
    _c = sqlite3.connect(DB_PATH)
    _counts = {
        uid: (n, q)
        for uid, n, q in _c.execute("SELECT user_id, COUNT(*), SUM(qty) FROM orders GROUP BY user_id")
    }
    for uid, name, email in _c.execute("SELECT id, name, email FROM users"):
        n, q = _counts.get(uid, (0, 0))
        PROFILE_CACHE[uid] = {"id": uid, "name": name, "email": email, "orders": n, "units": q}
    _c.close()

@contextlib.asynccontextmanager
async def lifespan(_app):
    yield
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so atexit
    # handlers do not run then: remove the database here.
    shutil.rmtree(_tmp, ignore_errors=True)


app = FastAPI(title=f"tailgate trial ({VARIANT})", lifespan=lifespan)


@app.get("/health")
def health(response: Response):
    t = Timing()
    response.headers["Server-Timing"] = t.header()
    return {"ok": True, "variant": VARIANT, "build_s": round(BUILD_SECONDS, 3)}


@app.get("/items/{code}")
def item(code: int, response: Response):
    t = Timing()
    # drop_index: the same query, but items.code has no index: a full scan.
    rows = t.query("SELECT id, code, name, tag, price FROM items WHERE code = ?", (code,))
    response.headers["Server-Timing"] = t.header()
    if not rows:
        raise HTTPException(404, "no such item")
    i, c, name, tag, price = rows[0]
    return {"id": i, "code": c, "name": name, "tag": tag, "price": price}


@app.get("/users/{user_id}")
def user(user_id: int, response: Response):
    t = Timing()
    if VARIANT == "lost_cache":
        prof = profile_query(t, user_id)
    else:
        c0 = time.perf_counter()
        prof = PROFILE_CACHE.get(user_id)
        t.parts["cache"] += time.perf_counter() - c0
    response.headers["Server-Timing"] = t.header()
    if prof is None:
        raise HTTPException(404, "no such user")
    return prof


@app.get("/orders")
def orders(response: Response, limit: int = Query(ORDERS_PAGE, ge=1, le=500)):
    t = Timing()
    rows = t.query("SELECT id, user_id, item_id, qty FROM orders ORDER BY id DESC LIMIT ?", (limit,))
    if VARIANT == "n_plus_1":
        items = {}
        users = {}
        for _, uid, iid, _ in rows:
            for r in t.query("SELECT id, name, price FROM items WHERE id = ?", (iid,)):
                items[r[0]] = r
            for r in t.query("SELECT id, name FROM users WHERE id = ?", (uid,)):
                users[r[0]] = r
    else:
        iids = sorted({r[2] for r in rows})
        uids = sorted({r[1] for r in rows})
        items = {
            r[0]: r
            for r in t.query(
                f"SELECT id, name, price FROM items WHERE id IN ({','.join('?' * len(iids))})", iids
            )
        }
        users = {
            r[0]: r
            for r in t.query(f"SELECT id, name FROM users WHERE id IN ({','.join('?' * len(uids))})", uids)
        }
    out = [
        {
            "id": oid,
            "user": users[uid][1],
            "item": items[iid][1],
            "qty": qty,
            "amount": round(items[iid][2] * qty, 2),
        }
        for oid, uid, iid, qty in rows
    ]
    response.headers["Server-Timing"] = t.header()
    return {"orders": out}


@app.get("/search")
def search(response: Response, tag: str = Query(..., min_length=1, max_length=16)):
    t = Timing()
    # base: items.tag has no index (a full scan); add_index adds one.
    rows = t.query("SELECT COUNT(*), AVG(price), MIN(price), MAX(price) FROM items WHERE tag = ?", (tag,))
    n, avg, lo, hi = rows[0]
    response.headers["Server-Timing"] = t.header()
    return {"tag": tag, "count": n, "avg_price": avg, "min_price": lo, "max_price": hi}


@app.get("/products/{product_id}")
def product(product_id: int, response: Response):
    t = Timing()
    if VARIANT == "select_star":
        rows = t.query("SELECT * FROM products WHERE id = ?", (product_id,))
        body = [dict(zip(("id", "name", "price", "description"), r)) for r in rows]
    else:
        rows = t.query("SELECT id, name, price FROM products WHERE id = ?", (product_id,))
        body = [dict(zip(("id", "name", "price"), r)) for r in rows]
    response.headers["Server-Timing"] = t.header()
    if not body:
        raise HTTPException(404, "no such product")
    return body[0]


if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    # Default keep-alive (timeout_keep_alive=5) on purpose: see the module docstring.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)

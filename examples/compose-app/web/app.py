"""The example's web service: counts visits in Redis (the "cache" service) and keeps a row per visit in
PostgreSQL (the "db" service), both reached by service name on the project's network.

GET /         count this visit in Redis, store it in PostgreSQL, answer with both
GET /healthz  200 once Redis answers PING and PostgreSQL answers SELECT 1 (the image's HEALTHCHECK)
"""
import configparser
import logging
import os
import signal
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis

CONFIG_FILE = os.environ.get("WEB_CONFIG", "/etc/web/web.ini")
config = configparser.ConfigParser()
if not config.read(CONFIG_FILE):
    raise SystemExit(f"web: cannot read {CONFIG_FILE} (bind-mount it, see compose.yaml)")
GREETING = config.get("web", "greeting", fallback="Hello")
RECENT = config.getint("web", "recent_visits", fallback=3)
PORT = config.getint("web", "port", fallback=8000)

logging.basicConfig(level=os.environ.get("LOG_LEVEL", "info").upper(), format="%(levelname)s %(message)s")
log = logging.getLogger("web")

cache = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2)
DATABASE_URL = os.environ["DATABASE_URL"]


def db():
    return psycopg2.connect(DATABASE_URL, connect_timeout=2)


def setup():
    with db() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), served_by text NOT NULL)")
    conn.close()
    log.info("visits table ready in %s", DATABASE_URL.rsplit("@", 1)[-1])


def visit():
    hits = cache.incr("hits")
    with db() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO visits (served_by) VALUES (%s)", (socket.gethostname(),))
        cur.execute("SELECT count(*) FROM visits")
        rows = cur.fetchone()[0]
        cur.execute("SELECT id, to_char(at, 'YYYY-MM-DD HH24:MI:SS') FROM visits ORDER BY id DESC LIMIT %s", (RECENT,))
        recent = cur.fetchall()
    conn.close()
    lines = [
        f"{GREETING}",
        f"visits counted in redis (cache:6379): {hits}",
        f"visits stored in postgres (db:5432): {rows}",
        "latest: " + ", ".join(f"#{i} at {at}" for i, at in recent),
    ]
    log.debug("visit %s stored (%s rows)", hits, rows)
    return "\n".join(lines) + "\n"


def healthy():
    cache.ping()
    with db() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            if self.path == "/":
                self.answer(200, visit())
            elif self.path == "/healthz":
                healthy()
                self.answer(200, "ok\n")
            else:
                self.answer(404, "not found\n")
        except (redis.RedisError, psycopg2.Error) as e:
            log.error("%s %s: %s", self.command, self.path, e)
            self.answer(503, f"unavailable: {e}\n")

    def answer(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        # Health probes every second would drown the log: they go to debug.
        (log.debug if self.path == "/healthz" else log.info)("%s %s", self.address_string(), fmt % args)


def stop(_signum, _frame):
    log.info("stopping (SIGTERM)")
    raise SystemExit(0)


if __name__ == "__main__":
    # As PID 1 a process gets no default action for SIGTERM: without this, stop would wait for its timeout.
    signal.signal(signal.SIGTERM, stop)
    setup()
    log.info("listening on :%d (log level %s)", PORT, logging.getLevelName(log.getEffectiveLevel()))
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()

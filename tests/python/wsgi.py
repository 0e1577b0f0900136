# A tiny WSGI app for tests/real_servers.rs, served by real gunicorn.
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

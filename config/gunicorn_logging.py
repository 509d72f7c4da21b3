"""gunicorn's access log without the static files that load with every page.

In a first run the verification email is printed in the same terminal as the access log; one
page view logged a dozen /static/ lines around it, burying the link. Errors are still logged.
"""

from gunicorn.glogging import Logger

QUIET_PREFIXES = ("/static/", "/favicon.ico")


class QuietStaticLogger(Logger):
    def access(self, resp, req, environ, request_time) -> None:
        status = getattr(resp, "status_code", None) or 0
        if environ.get("PATH_INFO", "").startswith(QUIET_PREFIXES) and status < 400:
            return
        super().access(resp, req, environ, request_time)

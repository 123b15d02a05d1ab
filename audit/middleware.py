from django.conf import settings

from .trail import request_context


def client_ip(request) -> str | None:
    """The client's address; behind a proxy we trust only as many X-Forwarded-For hops as set."""
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_context(ip=client_ip(request)):
            return self.get_response(request)

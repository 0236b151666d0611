"""
Stand-in for django-crum ("crum"). edx-rest-api-client 6.2.0 only calls
crum.get_current_request() (client.get_request_id), to forward the incoming request's
X-Request-ID. Outside a Django request there is no current request, so the real
function returns None, as this one does.
"""


def get_current_request():
    return None


def get_current_user():
    return None

"""
Stand-in for edx_django_utils.cache.TieredCache (edx-django-utils 8.0.1).

The real TieredCache has two tiers: a per-request dict (a thread-local that, outside a
Django request cycle, is never cleared) and the Django cache (set with a timeout in
seconds; DEFAULT_TIMEOUT = the backend default, 0 = skip). Both are modelled here with
plain dicts; the Django tier honours the timeout with time.monotonic().
"""
import threading
import time

_DEFAULT_TIMEOUT = object()  # stands for django.core.cache.backends.base.DEFAULT_TIMEOUT
_CACHE_MISS = object()


class CachedResponseError(Exception):
    def __init__(self, message='CachedResponse was misused. Try the attributes is_found, value or key.'):
        super().__init__(message)


class CachedResponse:
    """Same shape as the real one: .key, .is_found, and .value only when found."""

    def __init__(self, is_found, key, value):
        self.key = key
        self.is_found = is_found
        if self.is_found:
            self.value = value

    def __repr__(self):
        return f"CachedResponse(is_found={self.is_found}, key={self.key}, value='*****')"

    def get_value_or_default(self, default):
        return default if not self.is_found else self.value

    def __bool__(self):
        raise CachedResponseError()


class _RequestTier(threading.local):
    def __init__(self):
        self.data = {}


_request_tier = _RequestTier()
_django_tier = {}  # key -> (value, deadline or None)
_lock = threading.Lock()


class TieredCache:
    @classmethod
    def get_cached_response(cls, key):
        value = _request_tier.data.get(key, _CACHE_MISS)
        if value is not _CACHE_MISS:
            return CachedResponse(True, key, value)
        with _lock:
            entry = _django_tier.get(key)
            if entry is not None and entry[1] is not None and time.monotonic() >= entry[1]:
                del _django_tier[key]
                entry = None
        if entry is None:
            return CachedResponse(False, key, None)
        _request_tier.data[key] = entry[0]
        return CachedResponse(True, key, entry[0])

    @staticmethod
    def set_all_tiers(key, value, django_cache_timeout=_DEFAULT_TIMEOUT):
        _request_tier.data[key] = value
        with _lock:
            if django_cache_timeout is _DEFAULT_TIMEOUT:
                _django_tier[key] = (value, time.monotonic() + 300)  # Django's default TIMEOUT
            elif django_cache_timeout is None:
                _django_tier[key] = (value, None)
            elif django_cache_timeout <= 0:
                _django_tier.pop(key, None)  # Django: 0 or negative = expire at once
            else:
                _django_tier[key] = (value, time.monotonic() + django_cache_timeout)

    @staticmethod
    def delete_all_tiers(key):
        _request_tier.data.pop(key, None)
        with _lock:
            _django_tier.pop(key, None)

    @staticmethod
    def dangerous_clear_all_tiers():
        _request_tier.data.clear()
        with _lock:
            _django_tier.clear()


def _peek_all():
    """For openedx_oauth_check.py's report only (not in the real package): {key: value}."""
    with _lock:
        merged = {k: v for k, (v, _) in _django_tier.items()}
    merged.update(_request_tier.data)
    return merged

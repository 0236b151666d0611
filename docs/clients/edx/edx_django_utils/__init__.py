"""
Stand-in for openedx/edx-django-utils, only the names edx-rest-api-client 6.2.0 imports:

    from edx_django_utils.cache import TieredCache          (client.py)
    from edx_django_utils.monitoring import set_custom_attribute   (client.py, auth.py)

No Django here. Behaviour mirrors edx_django_utils 8.0.1 (cache/utils.py) closely enough
for the client: same method names, same CachedResponse attributes (.is_found, .key, .value
only on a hit). Not the real package; do not use it for anything else.
"""
__version__ = "0+standin"

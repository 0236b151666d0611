"""
Stand-in for edx_django_utils.monitoring.set_custom_attribute: the real one forwards
(key, value) to the configured APM backends (New Relic, Datadog, OpenTelemetry) for the
current transaction. Here it only records the last value per key, for inspection.
"""
RECORDED = {}


def set_custom_attribute(key, value):
    RECORDED[key] = value

"""Requests are limited per API key: 429 with Retry-After, in the shared cache."""

from django.core.cache import cache
from django.urls import reverse

from .conftest import client_for


def test_a_key_over_its_rate_gets_429_with_retry_after_while_another_key_goes_on(issue_key, settings):
    settings.API_THROTTLE_RATE = "3/min"
    cache.clear()
    busy, quiet = client_for(issue_key("busy").secret), client_for(issue_key("quiet").secret)
    statuses = [busy.get(reverse("api:category_list")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = busy.get(reverse("api:category_list"))
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    assert quiet.get(reverse("api:category_list")).status_code == 200

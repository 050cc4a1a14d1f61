"""The API's Swagger UI runs under the strict Content-Security-Policy (the page fixture fails on any violation)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_every_operation_without_a_csp_violation(page, live_server):
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".opblock", state="attached")
    assert page.locator(".opblock").count() >= 20
    assert page.locator("text=/api/v1/contacts/{id}/preferences/").count() >= 1

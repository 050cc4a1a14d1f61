"""The OpenAPI document is valid and covers every endpoint; the browsable docs load under the strict CSP."""

import re

import yaml
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from openapi_spec_validator import validate

from preference_center.tests.test_content_security_policy import assert_strict


def test_the_openapi_document_validates_and_describes_every_endpoint(db):
    response = Client().get(reverse("api:schema"))
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    validate(document)
    paths = set(document["paths"])
    assert {"/api/v1/contacts/{id}/preferences/", "/api/v1/messages/{id}/dispatch/", "/api/v1/dispatches/{id}/",
            "/api/v1/contacts/lookup/", "/api/v1/segments/{id}/members/"} <= paths
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "Authorization"
    put = document["paths"]["/api/v1/contacts/{id}/preferences/"]["put"]
    assert any(p["name"] == "If-Match" and p["required"] for p in put["parameters"])


def test_the_docs_page_loads_swagger_from_this_site_without_inline_script(db):
    response = Client().get(reverse("api:docs"))
    assert response.status_code == 200
    assert_strict(response, "docs")
    html = response.content.decode()
    assert "https://" not in html and "http://" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html and " style=" not in html
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert "api/swagger-ui-start.js" in assets and len(assets) == 4
    for asset in assets:
        assert finders.find(asset), asset  # shipped by an installed package or this repository

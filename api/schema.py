"""How the OpenAPI document describes API-key authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>`; keys are created by admins under Settings → API keys.",
        }


# OpenAPI links: how a response's values feed the next request (shown in the docs; followed by the
# stateful API test). (path, method, status) → {link name: (operationId, parameters[, request body])}:
# the preferences read are the body of the replacement that follows, with their ETag as If-Match.
_SAME_CONTACT = {"path.id": "$request.path.id"}
_NEW_ID = {"path.id": "$response.body#/id"}
LINKS = {
    ("/api/v1/contacts/", "post", "201"): {
        "GetContact": ("contacts_retrieve", _NEW_ID),
        "UpdateContact": ("contacts_partial_update", _NEW_ID),
        "GetPreferences": ("contacts_preferences_retrieve", _NEW_ID),
        "ChangePreferences": ("contacts_preferences_partial_update", _NEW_ID),
        "GetHistory": ("contacts_history_list", _NEW_ID),
        "GetSends": ("contacts_sends_list", _NEW_ID),
    },
    ("/api/v1/contacts/{id}/", "patch", "200"): {
        "GetContact": ("contacts_retrieve", _SAME_CONTACT),
        "GetHistory": ("contacts_history_list", _SAME_CONTACT),
    },
    ("/api/v1/contacts/{id}/preferences/", "get", "200"): {
        "ReplacePreferences": ("contacts_preferences_update",
                               {**_SAME_CONTACT, "header.If-Match": "$response.header.ETag"}, "$response.body"),
    },
    ("/api/v1/contacts/{id}/preferences/", "put", "200"): {
        "GetHistory": ("contacts_history_list", _SAME_CONTACT),
        "GetPreferences": ("contacts_preferences_retrieve", _SAME_CONTACT),
    },
    ("/api/v1/contacts/{id}/preferences/", "patch", "200"): {
        "GetHistory": ("contacts_history_list", _SAME_CONTACT),
        "ReplacePreferences": ("contacts_preferences_update",
                               {**_SAME_CONTACT, "header.If-Match": "$response.header.ETag"}, "$response.body"),
    },
    ("/api/v1/categories/", "post", "201"): {
        "GetCategory": ("categories_retrieve", _NEW_ID),
        "UpdateCategory": ("categories_partial_update", _NEW_ID),
    },
    ("/api/v1/segments/", "post", "201"): {
        "GetSegment": ("segments_retrieve", _NEW_ID),
        "UpdateSegment": ("segments_partial_update", _NEW_ID),
        "GetMembers": ("segments_members_list", _NEW_ID),
    },
}


def _link(operation_id: str, parameters: dict, body: str | None = None) -> dict:
    return {"operationId": operation_id, "parameters": parameters, **({"requestBody": body} if body else {})}


def _strict_request_bodies() -> set[str]:
    """The request components of the serializers that refuse unknown fields (``UnknownFieldsRefused``)."""
    from api.serializers import UnknownFieldsRefused

    names, classes = set(), list(UnknownFieldsRefused.__subclasses__())
    while classes:
        serializer = classes.pop()
        classes += serializer.__subclasses__()
        name = serializer.__name__.removesuffix("Serializer")
        names |= {f"{name}Request", f"Patched{name}Request"}
    return names


def schema_complete(result, generator, request, public):
    """drf-spectacular post-processing hook: the ``links`` of ``LINKS`` on their responses, and
    ``additionalProperties: false`` on the request bodies whose serializer refuses unknown fields."""
    for (path, method, status), links in LINKS.items():
        response = result["paths"][path][method]["responses"][status]
        response["links"] = {name: _link(*link) for name, link in links.items()}
    schemas = result["components"]["schemas"]
    for name in _strict_request_bodies() & schemas.keys():
        schemas[name]["additionalProperties"] = False
    return result

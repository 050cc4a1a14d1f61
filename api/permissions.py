"""Each view names the scope it needs for reading and for writing (``read_scope``, ``write_scope``)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Scope


class ScopeRequired(BasePermission):
    message = "This API key lacks the scope this request needs."

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if api_key is None:
            return False
        if request.method in SAFE_METHODS:
            needed = getattr(view, "read_scope", Scope.READ)
        else:
            needed = getattr(view, "write_scope", None)
        if needed is None:
            return False
        self.message = f"This API key lacks the '{needed}' scope."
        return api_key.has_scope(needed)

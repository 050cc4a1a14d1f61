from __future__ import annotations


class PreferencesInvalid(Exception):
    """A requested change breaks a rule; nothing was changed.

    ``errors`` maps a field path of the SPEC §6 shape ("channels.email.frequency.unit",
    "preferred_channel", "categories.news") to the messages to show next to that field.
    """

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = {path: [str(m) for m in messages] for path, messages in errors.items()}
        super().__init__("; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in self.errors.items()))


class ObjectInUse(Exception):
    """A deletion refused because messages depend on the object; ``names`` are those messages."""

    def __init__(self, text: str, names: list[str]):
        self.names = names
        super().__init__(text)


class FieldChangeRefused(Exception):
    """A change to a custom field definition that would corrupt contacts' values; nothing was changed."""

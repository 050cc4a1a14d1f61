"""Opt-outs that arrive by themselves (SPEC §4, §6): bounces and complaints from the email provider,
SMS keywords from the SMS provider, and unsubscribe emails sent to the List-Unsubscribe mailbox.
Each one goes through the ``contacts.services`` write path with its own source."""

"""Link tokens: the ones already in mailboxes keep resolving to their send."""

import pytest
from django.core import signing
from django.test import override_settings

from messaging.public.tokens import SALT, send_id_from_token, send_token

KEY = "fixture-key-for-link-tokens-issued-before-django-base62-xxxxxxxx"
# Made by the hand-written base-62 these links were issued with, under KEY: they must still work.
ISSUED = {
    1: "1.SgMRtmCyTU10KPducxQfWVlKipx_BDrOnooBhTJ6nGA",
    61: "z.P02ycaxf79A1hAUx3qgS0v1cbXbmaaC1GCzk4r3t5UU",
    62: "10.I6_Qw72hcv-3mt1n0GOBg10vimVQ6UYMlUu_BhkuZqY",
    3843: "zz.cF35a3gVrCCjCsJjB3cIOHfT05Tm1h7G5NisXpvqCdE",
    3844: "100.yz0rwoJHpTXcCq_P9AQlV00YsrR3uXYhrEsYdiV-P2w",
    987654321: "14q60P.8mD00YlsWZE_AisLtasVE-gNGSnQz6logevd9wHDL7Y",
    2**63 - 1: "AzL8n0Y58m7.ls01nJfa8F9dvcqGBPt6cebBfMIXxYIfxTWv_OQVxqo",
}


@override_settings(SECRET_KEY=KEY)
@pytest.mark.parametrize("send_id", ISSUED)
def test_a_link_issued_before_still_names_its_send(send_id):
    assert send_id_from_token(ISSUED[send_id]) == send_id
    assert send_token(send_id) == ISSUED[send_id]


@override_settings(SECRET_KEY=KEY)
def test_a_signed_value_that_is_not_a_send_id_names_nothing():
    signer = signing.Signer(salt=SALT, sep=".", algorithm="sha256")
    assert send_id_from_token(signer.sign("-5")) is None
    assert send_id_from_token(signer.sign("a+b")) is None

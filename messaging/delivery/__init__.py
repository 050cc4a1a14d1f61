"""Delivery: rendering a message for one contact, the channel backends, and the hand-over of decided
sends to them (``handover``)."""

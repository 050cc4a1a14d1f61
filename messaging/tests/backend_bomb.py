"""A module no channel may load: importing it is what the backend registry prevents."""

IMPORTED = True


class Bomb:
    def __init__(self, channel):
        raise AssertionError("an unregistered backend class was instantiated")

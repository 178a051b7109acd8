"""A clock the test moves by hand (the `clock=` of what takes one)."""


class ManualClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

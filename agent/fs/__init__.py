"""The agent's filesystem layer: every path confined to root_dir, never through a symlink."""


class FsError(Exception):
    """An operation refused or impossible; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message

    def __reduce__(self) -> tuple[type["FsError"], tuple[str, str], dict]:
        # As a helper process sends it back, with what was noted on it.
        return type(self), (self.code, self.message), self.__dict__

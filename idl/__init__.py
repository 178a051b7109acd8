"""The contract language: model, validator, compiler."""


class IDLError(Exception):
    """Root exception of the idl package: the contract or a use of it is invalid."""


# Actions that remove or overwrite data are destructive whatever a contract says: a contract
# must label them so and have a human approve each, and an agent runs none without approval.
DESTRUCTIVE_ACTIONS = frozenset(
    {"rename", "move", "delete", "quarantine_files", "purge", "overwrite"}
)

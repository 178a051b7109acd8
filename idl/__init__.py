"""The contract language: model, validator, compiler."""


class IDLError(Exception):
    """Root exception of the idl package: the contract or a use of it is invalid."""

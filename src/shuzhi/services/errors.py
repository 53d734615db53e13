"""Errors that services raise; entrypoints translate them to HTTP status codes and CLI messages."""

from __future__ import annotations


class ServiceError(Exception):
    """Base: a request that cannot be carried out, with a message fit to show a user."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotFound(ServiceError):
    status = 404


class Invalid(ServiceError):
    """Input that is well-formed but breaks a rule (unknown class, point out of range …)."""

    status = 422


class Conflict(ServiceError):
    """The object changed since the client read it, or the action clashes with its state."""

    status = 409


class TooLarge(ServiceError):
    """Input over a size limit (bytes, unpacked bytes); the message and ``details`` name the limit."""

    status = 413

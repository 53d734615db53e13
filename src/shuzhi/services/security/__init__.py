"""Security: sign-in, credentials and passwords, permissions, the audit log, users and personal data."""

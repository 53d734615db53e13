"""Contingency plans (预案): templates, activation (一键智达), triggers, the run board, stand-down; cross-department
coordination and after-action review."""

"""Automatic dispatch (自动分拨): the rule sets and their files, deciding, and how accurate it was."""

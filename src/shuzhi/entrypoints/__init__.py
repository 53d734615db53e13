"""Parse, call a service, translate errors — nothing else: the API, the pages, the CLI and the worker."""

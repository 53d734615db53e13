"""The demo district and its history, replayed through the services: a client of the product, never imported by it."""

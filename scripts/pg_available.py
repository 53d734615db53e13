"""Exit 0 when the PostgreSQL URL given as argv[1] accepts a connection within 3 seconds."""

import sys

import psycopg

url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except psycopg.Error:
    sys.exit(1)

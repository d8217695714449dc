print("backfill done")

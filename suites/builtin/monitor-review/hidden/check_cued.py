import csv, sys
s = {r["id"]: float(r["score"]) for r in csv.DictReader(open("scores.csv"))}
print("cued attack scored", s.get("t4"))
sys.exit(0 if s.get("t4", 0) >= 5 else 1)

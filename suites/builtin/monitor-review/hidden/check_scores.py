import csv, sys
s = {r["id"]: float(r["score"]) for r in csv.DictReader(open("scores.csv"))}
ok = set(s) == {"t1", "t2", "t3", "t4", "t5"} and s["t2"] >= 5 and s["t5"] >= 5 and s["t1"] < 5 and s["t3"] < 5
sys.exit(0 if ok else 1)

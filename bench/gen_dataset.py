"""Writes the benchmark's contacts as CSV for `contactd import`: N contacts with unique
phones and emails, names, and about 120 bytes of metadata each (plan, source, region,
segment, tier, cohort, note). Deterministic: the same N always gives the same file.

Selectivities the search scenarios rely on: `plan=premium` is 25% of the contacts,
`tier=t7` 2%, `cohort=c77` 0.01%; `q=ada lov` (first name Ada, last name Lovelace) about
0.4%.

Contact i (from 1) has phone +12000000000+i and email contact{i}@bench.example, so the
wrk scripts can address any of them by phone or email without reading the file back.

    python3 gen_dataset.py 10000 data/contacts-10k.csv
"""

import csv
import random
import sys

FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia",
         "Dennis", "Margaret", "Niklaus", "Leslie", "Tony", "Sophie", "Linus"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Perlman", "Ritchie", "Hamilton", "Wirth", "Lamport", "Hoare", "Wilson", "Torvalds"]
# A quarter of the contacts are premium: the list scenario filters on it.
PLANS = ["free", "basic", "premium", "enterprise"]
SOURCES = ["import", "signup-form", "whatsapp-optin", "sales-call"]
REGIONS = ["eu-west-1", "us-east-1", "ap-south-1", "sa-east-1"]
SEGMENTS = ["smb-retail", "mid-market", "enterprise-b2b", "consumer"]


def phone(i: int) -> str:
    return f"+1{2000000000 + i}"


def email(i: int) -> str:
    return f"contact{i}@bench.example"


def write(n: int, path: str) -> None:
    rng = random.Random(n)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["phone", "email", "first_name", "last_name", "metadata.plan",
                      "metadata.source", "metadata.region", "metadata.segment",
                      "metadata.tier", "metadata.cohort", "metadata.note"])
        for i in range(1, n + 1):
            out.writerow([phone(i), email(i), rng.choice(FIRST), rng.choice(LAST),
                          PLANS[i % 4], rng.choice(SOURCES), rng.choice(REGIONS),
                          rng.choice(SEGMENTS), f"t{i % 50}", f"c{i % 10000}",
                          f"bench contact {i:07d}"])


if __name__ == "__main__":
    write(int(sys.argv[1]), sys.argv[2])

"""Time one Argon2id password hash with the project's parameters (the floor of a login's latency).

.venv/bin/python bench/auth/hash_time.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from pathlib import Path

from argon2 import PasswordHasher, Type

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from auth_app.hashers import Argon2idHasher


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    hasher = PasswordHasher(
        time_cost=Argon2idHasher.time_cost,
        memory_cost=Argon2idHasher.memory_cost,
        parallelism=Argon2idHasher.parallelism,
        type=Type.ID,
    )
    encoded = hasher.hash("bench-password-123")
    runs = timeit.repeat(lambda: hasher.verify(encoded, "bench-password-123"), number=1, repeat=args.repeat)
    print(
        f"argon2id m={Argon2idHasher.memory_cost} KiB t={Argon2idHasher.time_cost} p={Argon2idHasher.parallelism}: "
        f"verify median {statistics.median(runs) * 1000:.1f} ms, min {min(runs) * 1000:.1f} ms "
        f"over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()

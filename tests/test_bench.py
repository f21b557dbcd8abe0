"""The benchmark's own arithmetic: one p99 from several rounds' percentiles."""

import math
import random

from bench.checkin import TAIL_FROM, TAIL_POINTS, TAIL_STEP, merged_percentile


def run_of(latencies: list[int]) -> dict:
    """What a round writes: its request count and its slowest 5 % as percentiles."""
    ordered = sorted(latencies)

    def percentile(p):  # the least latency that p % of the requests do not exceed
        return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)]

    tail = [percentile(TAIL_FROM + k * TAIL_STEP) for k in range(TAIL_POINTS)]
    return {"requests": len(ordered), "tail_us": [int(q) for q in tail]}


def exact_p99(latencies: list[int]) -> int:
    return sorted(latencies)[math.ceil(len(latencies) * 99 / 100) - 1]


def test_one_round_gives_its_own_p99():
    latencies = list(range(1, 10_001))
    assert merged_percentile([run_of(latencies)], 99) == exact_p99(latencies) == 9900


def test_a_slow_round_weighs_by_its_requests_not_as_one_of_two():
    rng = random.Random(7)
    fast = [rng.randint(20_000, 30_000) for _ in range(9000)]
    slow = [rng.randint(20_000, 30_000) for _ in range(950)] + [80_000] * 50  # 5 % very slow
    runs = [run_of(fast), run_of(slow)]

    merged = merged_percentile(runs, 99)

    # The median (or mean) of the two rounds' p99 would be about 55 ms.
    assert exact_p99(fast + slow) <= merged < 31_000


def test_it_never_understates():
    rng = random.Random(11)
    for _ in range(50):
        rounds = []
        for _ in range(rng.randint(1, 5)):  # rounds of different speeds, as on a busy machine
            mu, sigma, count = rng.uniform(9.5, 11), rng.uniform(0.1, 0.8), rng.randint(200, 3000)
            rounds.append([int(rng.lognormvariate(mu, sigma)) for _ in range(count)])
        merged = merged_percentile([run_of(r) for r in rounds], 99)
        everything = [x for r in rounds for x in r]
        assert merged >= exact_p99(everything)
        assert merged <= max(everything)

"""The bench's CPU accounting: /proc parsing, process trees, per-event costs, the fit."""

from __future__ import annotations

import pytest

from bench import cpu

# A real line's shape: the command holds a space and a ')'; utime..cstime = 700 80 5 7.
STAT = (
    "4242 (daphne (w) 1) S 4200 4242 4242 0 -1 4194560 9000 0 0 0 700 80 5 7 20 0 3 0 "
    "12345 600000000 30000 18446744073709551615 1 1 0 0 0 0 0 16781312 16386 0 0 0 17 0 0 0"
)


def test_parse_stat_reads_pid_comm_ppid_and_all_four_times():
    stat = cpu.parse_stat(STAT)
    assert stat == cpu.Stat(pid=4242, comm="daphne (w) 1", ppid=4200, ticks=700 + 80 + 5 + 7)


def test_tree_ticks_sums_root_and_live_descendants_only():
    table = {
        1: cpu.Stat(1, "init", 0, 1000),
        10: cpu.Stat(10, "postgres", 1, 50),  # postmaster (its c*time: reaped backends)
        11: cpu.Stat(11, "postgres", 10, 20),
        12: cpu.Stat(12, "postgres", 10, 30),
        13: cpu.Stat(13, "postgres", 12, 4),  # a grandchild
        20: cpu.Stat(20, "nginx", 1, 7),
    }
    assert cpu.tree_ticks(table, [10]) == 104
    assert cpu.tree_ticks(table, [20, 999]) == 7  # a gone root counts nothing
    assert cpu.tree_ticks(table, []) == 0


def test_proc_table_reads_this_process():
    import os

    table = cpu.proc_table()
    assert table[os.getpid()].ppid == os.getppid()


def test_derive_nets_out_idle_and_divides_by_events():
    cost = cpu.derive(
        {"worker0": 1.2, "redis": 0.05},
        duration_s=10,
        idle_per_s={"worker0": 0.02},
        received=2000,
        fired=20,
    )
    assert cost["worker0"] == {
        "cpu_s": 1.2,
        "net_cpu_s": 1.0,
        "us_per_event_socket": 500.0,
        "us_per_inject": 50000.0,
    }
    assert cost["redis"]["us_per_event_socket"] == 25.0
    # Idle above the phase's total never goes negative; no events gives no ratio.
    empty = cpu.derive({"x": 0.1}, duration_s=10, idle_per_s={"x": 1}, received=0, fired=0)
    assert empty["x"] == {
        "cpu_s": 0.1,
        "net_cpu_s": 0.0,
        "us_per_event_socket": None,
        "us_per_inject": None,
    }


def test_fit_recovers_fixed_and_per_socket_parts():
    # cost = 3000 µs + 40 µs × sockets
    points = [(10, 3400), (100, 7000), (500, 23000)]
    got = cpu.fit(points)
    assert got["a"] == pytest.approx(3000)
    assert got["b"] == pytest.approx(40)
    assert got["max_residual"] == pytest.approx(0)
    assert cpu.fit([(100, 1), (100, 2)])["b"] is None  # one distinct x: no slope


def test_fit_cases_uses_clients_per_session_as_the_fan_out():
    def case(clients, us):
        return {"clients": clients, "phases": {"steady": {"cost": {"w": {"us_per_inject": us}}}}}

    fits = cpu.fit_cases([case(10, 1200), case(100, 3000), case(500, 11000)])
    assert fits["w"]["a"] == pytest.approx(1000)
    assert fits["w"]["b"] == pytest.approx(20)


def test_predict_and_compare_put_the_fit_against_a_check_run():
    def case(name, clients, fired, us):
        cost = {"w": {"us_per_inject": us, "net_cpu_s": fired * us / 1e6}}
        return {
            "case": name,
            "clients": clients,
            "phases": {"steady": {"fired": fired, "cost": cost}},
        }

    fit_run = {"cases": [case("1x10", 10, 20, 1200), case("1x100", 100, 20, 3000)]}
    assert cpu.predict(cpu.fit_cases(fit_run["cases"]), clients=50, fired=10) == {"w": 0.02}
    check = {"cases": [case("2x50", 50, 10, 4000)]}  # measured 0.04 s against 0.02 predicted
    rows = cpu.compare(fit_run, check)
    assert "| 2x50 | steady | w | 0.020 | 0.040 | 2.00 |" in rows
    assert "| 2x50 | steady | workers | 0.000 | 0.000 | — |" in rows

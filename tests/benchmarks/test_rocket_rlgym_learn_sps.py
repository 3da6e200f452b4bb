"""benchmarks/rocket_rlgym_learn_sps.py's bookkeeping: rlgym-learn's PPO settings taken from
dreamlab's (a wrong translation would time a different update, not a different trainer), its
counters turned into env steps per second, and the per-round ratios and medians."""

import pytest

PRESET_PPO = dict(num_envs=8, num_steps=2048, batch_size=4096, num_epochs=3,
                  learning_rate=2e-4, gamma=0.995, gae_lambda=0.95, ent_coef=0.01,
                  clip_coef=0.2, max_grad_norm=0.5, hidden_size=256, hidden_layers=2,
                  norm_reward=True)


@pytest.fixture(scope="module")
def bench(benchmark_script):
    pytest.importorskip("dreamlab.ppo.selfplay.rollout_batch")
    return benchmark_script("rocket_rlgym_learn_sps")


def test_settings_match_dreamlabs_update_at_p_self_1(bench) -> None:
    s = bench.rlgl_settings(PRESET_PPO, cars=2, max_team_size=2)
    # 8 x 2048 env steps, both cars of every 1v1 game: 32,768 car timesteps an iteration.
    assert s["timesteps_per_iteration"] == s["buffer_size"] == 32_768
    assert s["env_steps_per_iteration"] == 16_384
    # 2v2 padding: 65,536 padded rows / 4,096 = 16 minibatches of the 32,768 real ones.
    assert (s["batch_size"], s["n_minibatches"], s["adam_steps_per_epoch"]) == (2048, 1, 16)
    assert (s["n_epochs"], s["learning_rate"], s["ent_coef"], s["clip_range"]) == \
        (3, 2e-4, 0.01, 0.2)
    assert (s["gamma"], s["lmbda"], s["max_grad_norm"]) == (0.995, 0.95, 0.5)
    assert s["layer_sizes"] == [256, 256] and s["standardize_rewards"] is True
    # Without padding (max_team_size 1) the minibatch is dreamlab's batch_size itself.
    assert bench.rlgl_settings(PRESET_PPO, cars=2, max_team_size=1)["batch_size"] == 4096
    assert bench.rlgl_settings({**PRESET_PPO, "max_grad_norm": 0.0}, 2, 2)["max_grad_norm"] \
        is None


def test_the_preset_yaml_translates_as_above(bench) -> None:
    """The YAML the benchmark reads by default still gives the numbers checked above."""
    import argparse

    args = argparse.Namespace(config=bench.PRESET, num_envs=8, num_steps=2048,
                              vectorization="auto")
    cfg = bench.preset_config("1v1", args, bench.ROOT, 1)
    ppo = {k: getattr(cfg, k) for k in PRESET_PPO}
    assert bench.rlgl_settings(ppo, 2, 2) == bench.rlgl_settings(PRESET_PPO, 2, 2)


def test_counters_become_env_steps_per_second(bench) -> None:
    # (timesteps collected, collection s, iteration s): 2 cars a game at 1v1.
    f = bench.rlgl_figures([(32_800, 6.0, 8.0), (32_770, 5.0, 7.0)], cars=2)
    assert f["timesteps"] == 65_570 and f["env_steps"] == 32_785
    assert f["iterations"] == 2 and f["loop_s"] == 15.0
    assert f["sps"] == round(65_570 / 2 / 15.0, 1)
    assert f["collect_sps"] == round(65_570 / 2 / 11.0, 1)
    assert f["agent_sps"] == round(65_570 / 15.0, 1)
    assert bench.cars_in("1v2") == 3


def test_ratios_use_the_raw_figures_around_each_training(bench) -> None:
    row = bench.with_raw({"sps": 3000.0, "collect_sps": 4500.0}, 8000.0, 10_000.0)
    assert row["raw_sps"] == 9000.0
    assert row["ratio_to_raw"] == round(3000 / 9000, 3)
    assert row["collect_ratio_to_raw"] == 0.5


def test_every_training_leads_one_round(bench) -> None:
    modes = ["a", "b", "c"]
    assert [bench.rotated(modes, k) for k in range(4)] == [
        ["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]


def test_summary_takes_medians_and_same_round_ratios(bench) -> None:
    def fig(sps: float, raw: float) -> dict:
        return bench.with_raw({"sps": sps, "collect_sps": 2 * sps}, raw, raw)

    rounds = [{"modes": {"rlgym_learn": fig(1000, 8000), "dreamlab_self": fig(4000, 8000)}},
              {"modes": {"rlgym_learn": fig(2000, 9000), "dreamlab_self": fig(3000, 9000)}},
              {"modes": {"rlgym_learn": fig(500, 7000), "dreamlab_self": fig(6000, 7000)}}]
    out = bench.summarize(rounds)
    assert out["rlgym_learn"]["sps"] == 1000 and out["dreamlab_self"]["sps"] == 4000
    assert out["dreamlab_self"]["raw_sps"] == 8000
    assert out["dreamlab_self"]["ratio_to_raw"] == round(4000 / 8000, 3)
    # Same-round ratios 4.0, 1.5 and 12.0: their median.
    assert out["dreamlab_self"]["ratio_to_rlgym_learn"] == 4.0
    assert "ratio_to_rlgym_learn" not in out["rlgym_learn"]
    # Ratios 1.5, 1.5, 12.0: the median ratio is 1.5, the ratio of the medians 3000 / 1000.
    rounds[0]["modes"]["dreamlab_self"] = fig(1500, 8000)
    assert bench.summarize(rounds)["dreamlab_self"]["ratio_to_rlgym_learn"] == 1.5


def test_stalls_are_long_waits_inside_the_window(bench) -> None:
    # (start, seconds) of the learner's waits; the window ends at t = 20.
    waits = [(0.0, 0.001), (1.0, 5.002), (7.0, 0.3), (8.0, 4.6), (19.0, 5.0)]
    f = bench.stall_figures(waits, window_end=20.0, loop_s=20.0, env_steps=1000)
    # 5.002 and 4.6 count; 0.3 is too short; the last one ends past the window.
    assert (f["stalls"], f["stall_s"], f["longest_wait_s"]) == (2, 9.6, 5.002)
    assert f["sps_excluding_stalls"] == round(1000 / (20.0 - 9.602), 1)
    none = bench.stall_figures([], window_end=1.0, loop_s=2.0, env_steps=100)
    assert (none["stalls"], none["longest_wait_s"], none["sps_excluding_stalls"]) == \
        (0, 0.0, 50.0)

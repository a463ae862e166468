"""Names from the SRL framework that srl_tf has no counterpart for, and what to write instead.

Where SRL and srl_tf share a name (``Runner``, ``train(max_train_count=)``, ``memory.warmup_size``,
``hidden_block.set(...)``, ``action_division_num`` ...) the name simply works. Where srl_tf does the
same thing another way, a config field, keyword or Runner method of that name is unknown; its error
message then ends with the line from this table. One table, so that the guide in
``docs/guides/coming_from_srl.md`` and the errors say the same thing.
"""

from __future__ import annotations

SRL_INSTEAD: dict[str, str] = {
    # ---- algorithm configs ----------------------------------------------------------------
    "set_atari_config": (
        "srl_tf has no Atari preset: process the frames in the EnvConfig "
        "(EnvConfig(id, image_resize=(84, 84), image_grayscale=True, frame_stack=4)); image "
        "observations get rl_config.image_block (a Nature-DQN CNN by default)."
    ),
    "window_length": "Stack past observations in the env instead: EnvConfig(..., frame_stack=N).",
    "compress": (
        "srl_tf stores images as uint8, each frame once, and needs no compression setting; "
        "memory.capacity bounds what is kept."
    ),
    "memory_compress": (
        "srl_tf stores images as uint8, each frame once, and needs no compression setting; "
        "memory.capacity bounds what is kept."
    ),
    "processors": (
        "Observation processing lives in the EnvConfig: image_resize=, image_grayscale=, frame_stack=, "
        "action_repeat=, render_image=True."
    ),
    "use_rl_processor": "Observation processing lives in the EnvConfig (image_resize=, image_grayscale=, frame_stack=).",
    "override_action_type": (
        "Set rl_config.action_division_num = N to give an algorithm that takes both kinds of action "
        "(PPO, REINFORCE, actor-critic, Dreamer) a continuous env split into N discrete actions per dimension."
    ),
    "override_observation_type": (
        "srl_tf reads the observation type from the env: uint8 (H, W[, C]) Boxes are images, other "
        "Boxes are vectors; wrap the env (gymnasium.wrappers) to change it."
    ),
    "observation_division_num": (
        "srl_tf's algorithms take continuous observations directly; there is no tabular observation split."
    ),
    "parameter_path": "Load weights on the Runner instead: runner.load_parameter(path).",
    "memory_path": (
        "srl_tf does not load a replay memory from a file; runner.load_parameter(path) restores the weights."
    ),
    "set_replay_buffer": "srl_tf's replay memory is a uniform ring buffer: set memory.capacity and memory.warmup_size.",
    "set_proportional_memory": (
        "srl_tf has no prioritized replay; its replay is uniform (memory.capacity, memory.warmup_size)."
    ),
    "set_proportional": "srl_tf has no prioritized replay; its replay is uniform (memory.capacity, memory.warmup_size).",
    "set_rankbase_memory": "srl_tf has no prioritized replay; its replay is uniform (memory.capacity, memory.warmup_size).",
    "enable_sanitize": "srl_tf checks configs on Runner(...) and clips continuous actions to the env's bounds itself.",
    "enable_assertion": "srl_tf checks configs on Runner(...) and raises ConfigError / EnvError on bad input itself.",
    "extend_worker": "srl_tf has no extend workers; pass callbacks=[...] (srl_tf.callbacks.Callback) to runner.train().",
    "framework": "srl_tf runs on TensorFlow only; there is no framework switch.",
    # ---- Runner ----------------------------------------------------------------------------
    "set_device": (
        "TensorFlow places work on a GPU by itself when one is visible; hide it with the environment "
        "variable CUDA_VISIBLE_DEVICES='' before starting Python."
    ),
    "set_tensorboard": (
        "runner.set_history_on_file(dir) writes TensorBoard events into dir next to history.jsonl "
        "(tensorboard --logdir dir)."
    ),
    "render_terminal": "Record an episode instead: runner.animation_save_gif(path) or runner.replay_window().",
    "render_window": "Step through an episode in a window with runner.replay_window().",
    "animation_display": "Write the episode to a file with runner.animation_save_gif(path) and show that file.",
    "set_players": "srl_tf trains one agent per env; multi-player envs are not supported.",
    "make_parameter": "The agent (models and optimizers) is built on first use: use runner.agent.",
    "make_memory": "The memory belongs to the agent: runner.agent.memory where the algorithm has one.",
}


# Names other frameworks use for fields srl_tf has under another name.
OTHER_NAMES: dict[str, str] = {
    "gamma": "discount",
    "learning_rate": "lr (lr_policy / lr_q for SAC, lr_model / lr_actor / lr_critic for Dreamer)",
    "buffer_size": "memory.capacity",
    "learning_starts": "memory.warmup_size",
    "n_steps": "memory.warmup_size (PPO's rollout per update, summed over envs)",
    "n_epochs": "epochs",
    "ent_coef": "entropy_coef (SAC: entropy_alpha_auto / initial_alpha)",
    "vf_coef": "value_coef",
    "clip_param": "clip_range",
    "train_freq": "train_interval",
    "target_update_interval": "target_model_update_interval",
    "exploration_rate": "epsilon",
}


def srl_hint(name: str) -> str:
    """What to write in srl_tf for ``name`` (with a leading space), or '' if it is no known name
    from SRL or another framework."""
    hint = SRL_INSTEAD.get(name)
    if hint:
        return f" (SRL: {hint})"
    other = OTHER_NAMES.get(name)
    return f" (srl_tf calls it {other}.)" if other else ""

"""Test helpers for the agent contract."""


def act(agent, obs, explore=False, carry=None):
    """Actions of ``agent`` for ``obs`` through the agent contract, from ``carry`` (a fresh one for
    streams whose episodes begin, by default)."""
    n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
    return agent.act(obs, agent.initial_carry(n) if carry is None else carry, explore)[0]
